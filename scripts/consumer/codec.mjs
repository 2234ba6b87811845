// Scenario (a): @wal/codec alone. Plain ESM, as a JavaScript consumer writes it.
import assert from 'node:assert/strict';
import {
  DEFAULT_MAX_RECORD_BYTES,
  decodeAll,
  decodeSegmentHeader,
  ErrorCode,
  encodeRecord,
  encodeSegmentHeader,
  FrameDecoder,
  SEGMENT_HEADER_SIZE,
  WalError,
} from '@wal/codec';

const utf8 = new TextEncoder();
const text = (bytes) => new TextDecoder().decode(bytes);

// One atomic batch: a put, a put with an empty value, a delete.
const frame = encodeRecord(42, [
  { type: 'put', key: utf8.encode('user:1'), value: utf8.encode('alice') },
  { type: 'put', key: utf8.encode('user:2'), value: new Uint8Array(0) },
  { type: 'delete', key: utf8.encode('user:3') },
]);
const [result, ...rest] = decodeAll(frame);
assert.equal(rest.length, 0);
assert.equal(result.kind, 'record');
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
const decoder = new FrameDecoder();
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
assert.equal(decodeAll(flipped)[0].reason, 'checksum-mismatch');
assert.equal(decodeAll(frame.subarray(0, frame.length - 1))[0].reason, 'truncated');

// Segment header round trip.
const header = encodeSegmentHeader({ segmentNumber: 7, firstSequence: 1000 });
assert.equal(header.length, SEGMENT_HEADER_SIZE);
assert.deepEqual(decodeSegmentHeader(header), { segmentNumber: 7, firstSequence: 1000 });

// Typed errors with stable codes.
assert.throws(
  () =>
    encodeRecord(0, [{ type: 'put', key: utf8.encode('k'), value: new Uint8Array(2048) }], 1024),
  (error) => WalError.isInstance(error, ErrorCode.RECORD_TOO_LARGE) && error instanceof WalError,
);
assert.equal(DEFAULT_MAX_RECORD_BYTES, 16 * 1024 * 1024);

console.log(`encoded and decoded a ${frame.length}-byte frame, damage and errors as documented`);
