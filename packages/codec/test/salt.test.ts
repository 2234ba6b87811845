// The segment's salt is under every frame CRC: a frame encoded with another
// salt (another segment's, another log's, or none) never validates, so it is
// never a frame and never a resync point, wherever it sits.
import {
  DEFAULT_MAX_RECORD_BYTES,
  decodeAll,
  decodeFrameAt,
  encodeBatchFrame,
  encodeHoleFrame,
  encodeMarkFrame,
  encodeSealFrame,
  saltSeed,
} from '@wal/codec';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  concat,
  encodeSegment,
  flipBit,
  type Item,
  itemArb,
  normalize,
  opArb,
  put,
  SegmentWriter,
} from './helpers.js';

const u32 = fc.nat({ max: 0xffff_ffff });
/** Two different salts. */
const saltPair = fc
  .tuple(u32, u32)
  .filter(([a, b]) => a !== b)
  .map(([own, other]) => ({ own, other }));

/** A frame of any type, encoded with `salt`, that would sit at file offset 48 continuing sequence `next`. */
const frameArb = fc.oneof(
  fc
    .array(opArb, { minLength: 1, maxLength: 3 })
    .map(
      (ops) => (salt: number, next: number) => encodeBatchFrame({ salt, synced: 48 }, next, ops),
    ),
  fc.constant((salt: number, next: number) => encodeMarkFrame({ salt, synced: 48 }, next)),
  fc.constant((salt: number, next: number) =>
    encodeHoleFrame(
      { salt, synced: 48 },
      { firstSequence: next, nextSequence: next + 1, incident: 0 },
    ),
  ),
  fc.constant((salt: number, next: number) =>
    encodeSealFrame({ salt, synced: 48 }, { nextSequence: next, records: 0, bytes: 48 + 29 }),
  ),
);

describe('a frame encoded with another salt', () => {
  test('never validates: checksum-mismatch, for any record and any pair of salts', () => {
    fc.assert(
      fc.property(saltPair, frameArb, ({ own, other }, encode) => {
        const frame = encode(other, 0);
        const context = {
          maxRecordBytes: DEFAULT_MAX_RECORD_BYTES,
          seed: saltSeed(own),
          frameOffset: 48,
        };
        expect(decodeFrameAt(frame, 0, frame.length, context)).toMatchObject({
          kind: 'damage',
          reason: 'checksum-mismatch',
        });
        const home = { ...context, seed: saltSeed(other) };
        expect(decodeFrameAt(frame, 0, frame.length, home)).toMatchObject({ kind: 'frame' });
      }),
      { numRuns: 500 },
    );
  });

  test('a whole segment read with another salt gives one damage and no frame', () => {
    fc.assert(
      fc.property(
        saltPair,
        fc.array(itemArb(3), { minLength: 1, maxLength: 5 }),
        ({ own, other }, items) => {
          const segment = encodeSegment(items, { salt: other });
          expect(normalize(decodeAll(segment.bytes, { salt: own, firstSequence: 0 }))).toEqual([
            {
              kind: 'damage',
              offset: 48,
              bytes: segment.bytes.length,
              reason: 'checksum-mismatch',
              nextSequence: 0,
            },
          ]);
        },
      ),
    );
  });
});

describe('a frame from another segment', () => {
  test('in place of a frame, at the right sequence and offset, is damage', () => {
    fc.assert(
      fc.property(
        saltPair,
        frameArb,
        fc.array(itemArb(2), { maxLength: 3 }),
        ({ own, other }, encode, tail) => {
          const w = new SegmentWriter(0, own).items([{ type: 'batch', ops: [put('a', '1')] }]);
          const foreign = encode(other, w.next);
          const damageAt = w.offset;
          w.raw(foreign).items(tail);
          const results = normalize(decodeAll(w.bytes, w.options()));
          expect(results[1]).toEqual({
            kind: 'damage',
            offset: damageAt,
            bytes: foreign.length,
            reason: 'checksum-mismatch',
            nextSequence: 1,
          });
          expect(results.slice(2)).toEqual(w.frames.slice(1).map((f) => f.expected));
        },
      ),
      { numRuns: 300 },
    );
  });

  test('after damage, is never a resync point', () => {
    fc.assert(
      fc.property(
        saltPair,
        fc.array(frameArb, { minLength: 1, maxLength: 4 }),
        fc.uint8Array({ maxLength: 30 }),
        ({ own, other }, encoders, junk) => {
          // Damage, then frames of the other segment that would continue this
          // one exactly, then this segment's own next frame.
          const w = new SegmentWriter(0, own).items([{ type: 'batch', ops: [put('a', '1')] }]);
          const start = w.offset;
          w.raw(concat(new Uint8Array([0xff]), junk));
          for (const encode of encoders) w.raw(encode(other, w.next));
          const resumed = w.offset;
          w.items([{ type: 'mark' }]);
          const results = normalize(decodeAll(w.bytes, w.options()));
          expect(results.map((r) => [r.kind, r.offset])).toEqual([
            ['frame', 48],
            ['damage', start],
            ['frame', resumed],
          ]);
          expect(results[1]).toMatchObject({ bytes: resumed - start });
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('a valid frame stored inside a value', () => {
  /** A batch whose value holds `inner` at `where`, for `w`'s next sequence. */
  const carrier = (inner: Uint8Array, pad: number): Item => ({
    type: 'batch',
    ops: [
      {
        type: 'put',
        key: new Uint8Array([1]),
        value: new Uint8Array([...new Uint8Array(pad).fill(0xaa), ...inner]),
      },
    ],
  });

  test('is the value, never a frame, when nothing is damaged', () => {
    fc.assert(
      fc.property(saltPair, frameArb, fc.nat({ max: 40 }), ({ own, other }, encode, pad) => {
        const w = new SegmentWriter(0, own);
        const inner = encode(other, 0);
        w.items([carrier(inner, pad), { type: 'mark' }]);
        expect(normalize(decodeAll(w.bytes, w.options()))).toEqual(w.frames.map((f) => f.expected));
      }),
    );
  });

  test('from another segment, is never a resync point when the frame holding it is damaged', () => {
    fc.assert(
      fc.property(
        saltPair,
        frameArb,
        fc.nat({ max: 40 }),
        fc.integer({ min: 0, max: 7 }),
        ({ own, other }, encode, pad, headerByte) => {
          const w = new SegmentWriter(0, own).items([{ type: 'batch', ops: [put('a', '1')] }]);
          // The inner frame would continue the segment exactly, if its salt were right.
          const inner = encode(other, w.next);
          w.items([carrier(inner, pad), { type: 'mark' }]);
          const [, outer, mark] = w.frames as [
            unknown,
            { offset: number; size: number },
            { offset: number },
          ];
          // Damage the outer frame's header: the scan then runs through its value.
          const bytes = flipBit(w.bytes, (outer.offset - 48 + headerByte) * 8);
          const results = normalize(decodeAll(bytes, w.options()));
          expect(results.map((r) => [r.kind, r.offset])).toEqual([
            ['frame', 48],
            ['damage', outer.offset],
            ['frame', mark.offset],
          ]);
          expect(results[1]).toMatchObject({ bytes: outer.size, nextSequence: 1 });
        },
      ),
      { numRuns: 300 },
    );
  });

  test('from this very segment, an older frame is never a resync point (its sequence is past)', () => {
    fc.assert(
      fc.property(
        u32,
        fc.nat({ max: 40 }),
        fc.integer({ min: 0, max: 7 }),
        (salt, pad, headerByte) => {
          const w = new SegmentWriter(0, salt).items([{ type: 'batch', ops: [put('a', '1')] }]);
          // A copy of frame 0, same salt and a valid CRC, stored in a value.
          const copy = w.bytes;
          w.items([carrier(copy, pad), { type: 'mark' }]);
          const [, outer, mark] = w.frames as [
            unknown,
            { offset: number; size: number },
            { offset: number },
          ];
          const bytes = flipBit(w.bytes, (outer.offset - 48 + headerByte) * 8);
          const results = normalize(decodeAll(bytes, w.options()));
          expect(results.map((r) => [r.kind, r.offset])).toEqual([
            ['frame', 48],
            ['damage', outer.offset],
            ['frame', mark.offset],
          ]);
        },
      ),
      { numRuns: 200 },
    );
  });
});
