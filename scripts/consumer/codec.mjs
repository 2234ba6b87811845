// Scenario (a): @wal/codec alone. Plain ESM, as a JavaScript consumer writes it.
import assert from 'node:assert/strict';
import {
  DEFAULT_MAX_RECORD_BYTES,
  decodeAll,
  decodeSegmentHeader,
  ErrorCode,
  encodeBatchFrame,
  encodeSegmentHeader,
  FrameDecoder,
  SEGMENT_HEADER_SIZE,
  WalError,
} from '@wal/codec';

// Every frame of a segment is checksummed with the segment header's salt, and
// says how much of the segment was durable when it was written.
const salt = 0x5eed;
const context = { salt, synced: SEGMENT_HEADER_SIZE };
const segment = { salt, firstSequence: 42 };

const utf8 = new TextEncoder();
const text = (bytes) => new TextDecoder().decode(bytes);

// One atomic batch: a put, a put with an empty value, a delete.
const frame = encodeBatchFrame(context, 42, [
  { type: 'put', key: utf8.encode('user:1'), value: utf8.encode('alice') },
  { type: 'put', key: utf8.encode('user:2'), value: new Uint8Array(0) },
  { type: 'delete', key: utf8.encode('user:3') },
]);
const [result, ...rest] = decodeAll(frame, segment);
assert.equal(rest.length, 0);
assert.equal(result.kind, 'frame');
assert.equal(result.record.type, 'batch');
const entries = result.record.entries.map((e) => [
  e.sequence,
  e.type,
  text(e.key),
  e.value?.length,
]);
assert.deepEqual(entries, [
  [42, 'put', 'user:1', 5],
  [43, 'put', 'user:2', 0],
  [44, 'delete', 'user:3', undefined],
]);

// Any chunking decodes the same: feed the frame one byte at a time.
const decoder = new FrameDecoder(segment);
const streamed = [];
for (const byte of frame) {
  decoder.push(Uint8Array.of(byte));
  for (let r = decoder.next(); r !== undefined; r = decoder.next()) streamed.push(r);
}
decoder.end();
for (let r = decoder.next(); r !== undefined; r = decoder.next()) streamed.push(r);
assert.equal(streamed.length, 1);
assert.equal(streamed[0].record.entries.length, 3);

// Damage is reported, never thrown or guessed past.
const flipped = frame.slice();
flipped[flipped.length - 2] ^= 0x01;
assert.equal(decodeAll(flipped, segment)[0].reason, 'checksum-mismatch');
assert.equal(decodeAll(frame.subarray(0, frame.length - 1), segment)[0].reason, 'truncated');
// A frame is not valid under another segment's salt: frames cannot be forged by values.
assert.equal(decodeAll(frame, { ...segment, salt: salt + 1 })[0].reason, 'checksum-mismatch');

// Segment header round trip.
const fields = {
  segment: 7,
  firstSequence: 1000,
  salt,
  maxRecordBytes: 1 << 20,
  logId: '0123456789abcdef',
};
const header = encodeSegmentHeader(fields);
assert.equal(header.length, SEGMENT_HEADER_SIZE);
assert.deepEqual(decodeSegmentHeader(header), fields);

// Typed errors with stable codes.
assert.throws(
  () =>
    encodeBatchFrame(
      context,
      0,
      [{ type: 'put', key: utf8.encode('k'), value: new Uint8Array(2048) }],
      1024,
    ),
  (error) => WalError.isInstance(error, ErrorCode.RECORD_TOO_LARGE) && error instanceof WalError,
);
assert.equal(DEFAULT_MAX_RECORD_BYTES, 16 * 1024 * 1024);

console.log(`encoded and decoded a ${frame.length}-byte frame, damage and errors as documented`);
