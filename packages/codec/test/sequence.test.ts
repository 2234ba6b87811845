// The FrameDecoder's sequence rules: a frame is accepted only where it
// continues the segment exactly; after damage, only at or above the
// interrupted sequence and below the ceiling; nothing after a seal.
import {
  decodeAll,
  encodeBatchFrame,
  encodeHoleFrame,
  encodeMarkFrame,
  encodeSealFrame,
  FrameDecoder,
  SEAL_FRAME_SIZE,
} from '@wal/codec';
import { describe, expect, test } from 'vitest';
import {
  chunkCuts,
  decodeSplit,
  del,
  type Item,
  type Normal,
  normalize,
  put,
  SALT,
  SegmentWriter,
} from './helpers.js';

const ctx = { salt: SALT, synced: 48 };
const one = (ops = [put('k', 'v')]): Item => ({ type: 'batch', ops });
const garbage = new Uint8Array(37).fill(0x33);

/** Kinds, offsets and, for damage, bytes, reason and the interrupted sequence. */
function shape(results: Normal[]) {
  return results.map((r) =>
    r.kind === 'frame'
      ? ['frame', r.offset, r.record.type]
      : ['damage', r.offset, r.bytes, r.reason, r.nextSequence],
  );
}

/** Decodes whole and in chunks of 1 to 40 bytes; all must agree. */
function decode(w: SegmentWriter, ceiling?: number, bytes = w.bytes): Normal[] {
  const options = w.options(ceiling === undefined ? {} : { ceiling });
  const whole = normalize(decodeAll(bytes, options));
  for (let size = 1; size <= 40; size++) {
    const results = normalize(decodeSplit(bytes, chunkCuts(bytes.length, size), options));
    expect({ size, results }).toEqual({ size, results: whole });
  }
  return whole;
}

describe('the first frame starts at the header first sequence', () => {
  const w = new SegmentWriter(5).items([one(), one(), one()]);
  const [f0, f1, f2] = w.frames.map((f) => f.offset) as [number, number, number];

  test('exactly there: every frame is accepted', () => {
    expect(shape(decode(w))).toEqual([
      ['frame', f0, 'batch'],
      ['frame', f1, 'batch'],
      ['frame', f2, 'batch'],
    ]);
  });

  test('an intact first frame above or below it is bad-sequence, and decoding resyncs', () => {
    for (const first of [4, 6, 0]) {
      const results = decodeAll(w.bytes, { salt: SALT, firstSequence: first });
      expect(results[0]).toMatchObject({
        kind: 'damage',
        offset: 48,
        bytes: f1 - f0,
        reason: 'bad-sequence',
        nextSequence: first,
      });
      expect(results[0]?.kind === 'damage' && results[0].detail).toBe(
        `expected a record continuing at sequence ${first}, found a batch of sequences 5 to 5 (an intact frame out of place); ${f1 - f0} bytes to the next valid frame`,
      );
    }
    // From 4, the next frames (6 and 7) are at or above the interrupted sequence.
    const from4 = decodeAll(w.bytes, { salt: SALT, firstSequence: 4 });
    expect(from4.map((r) => r.kind)).toEqual(['damage', 'frame', 'frame']);
    // From 7, frames 5 and 6 are both below it: only frame 7 is accepted.
    const from7 = normalize(decodeAll(w.bytes, { salt: SALT, firstSequence: 7 }));
    expect(shape(from7)).toEqual([
      ['damage', f0, f2 - f0, 'bad-sequence', 7],
      ['frame', f2, 'batch'],
    ]);
  });
});

describe('each frame continues where the previous one ended', () => {
  test('a batch written twice: the copy is bad-sequence, the frames after it come back', () => {
    const w = new SegmentWriter().items([one()]);
    const copy = w.bytes;
    w.raw(copy).items([one(), one()]);
    const [f0, f1, f2] = w.frames.map((f) => f.offset) as [number, number, number];
    expect(shape(decode(w))).toEqual([
      ['frame', f0, 'batch'],
      ['damage', f0 + copy.length, copy.length, 'bad-sequence', 1],
      ['frame', f1, 'batch'],
      ['frame', f2, 'batch'],
    ]);
  });

  test('a mark must carry the sequence the segment is at', () => {
    for (const next of [0, 2]) {
      const w = new SegmentWriter().items([one()]);
      const mark = encodeMarkFrame(ctx, next);
      w.raw(mark).items([one()]);
      const results = decodeAll(w.bytes, w.options());
      expect(results[1]).toMatchObject({
        kind: 'damage',
        reason: 'bad-sequence',
        bytes: mark.length,
      });
      expect(results[1]?.kind === 'damage' && results[1].detail).toMatch(
        new RegExp(
          `^expected a record continuing at sequence 1, found a mark at sequence ${next} `,
        ),
      );
      expect(results[2]).toMatchObject({ kind: 'frame' });
    }
    const ok = new SegmentWriter().items([one(), { type: 'mark' }, one()]);
    expect(decode(ok).map((r) => r.kind)).toEqual(['frame', 'frame', 'frame']);
  });

  test('a hole must start where the segment is', () => {
    const w = new SegmentWriter().items([one()]);
    const hole = encodeHoleFrame(ctx, { firstSequence: 2, nextSequence: 4, incident: 1 });
    w.raw(hole).skip(3).items([one()]);
    const [f0, f1] = w.frames.map((f) => f.offset) as [number, number];
    expect(shape(decode(w))).toEqual([
      ['frame', f0, 'batch'],
      ['damage', f1 - hole.length, hole.length, 'bad-sequence', 1],
      ['frame', f1, 'batch'],
    ]);
    const ok = new SegmentWriter().items([one(), { type: 'hole', count: 3, incident: 2 }, one()]);
    const results = decode(ok);
    expect(results.map((r) => r.kind)).toEqual(['frame', 'frame', 'frame']);
    expect(results[2]).toMatchObject({ record: { firstSequence: 4 } });
  });

  test('a gap between intact batches: the frame after the gap is damage, then decoding goes on', () => {
    const w = new SegmentWriter().items([one()]).skip(1).items([one(), one()]);
    const [f0, f1, f2] = w.frames.map((f) => f.offset) as [number, number, number];
    expect(shape(decode(w))).toEqual([
      ['frame', f0, 'batch'],
      ['damage', f1, f2 - f1, 'bad-sequence', 1],
      ['frame', f2, 'batch'],
    ]);
  });
});

describe('after damage, resync accepts only a frame at or above the interrupted sequence', () => {
  test('a frame exactly at the interrupted sequence is accepted', () => {
    const w = new SegmentWriter().items([one()]).raw(garbage).items([one(), one()]);
    const [f0, f1, f2] = w.frames.map((f) => f.offset) as [number, number, number];
    expect(shape(decode(w))).toEqual([
      ['frame', f0, 'batch'],
      ['damage', f1 - garbage.length, garbage.length, 'bad-length', 1],
      ['frame', f1, 'batch'],
      ['frame', f2, 'batch'],
    ]);
  });

  test('a frame above it is accepted: the damage says which sequences it took', () => {
    for (const lost of [1, 5, 1000]) {
      const w = new SegmentWriter()
        .items([one()])
        .raw(garbage)
        .skip(lost)
        .items([one(), { type: 'mark' }, one()]);
      const [f0, f1, f2, f3] = w.frames.map((f) => f.offset) as number[];
      const results = decode(w);
      expect(shape(results)).toEqual([
        ['frame', f0, 'batch'],
        ['damage', (f1 as number) - garbage.length, garbage.length, 'bad-length', 1],
        ['frame', f1, 'batch'],
        ['frame', f2, 'mark'],
        ['frame', f3, 'batch'],
      ]);
      expect(results[2]).toMatchObject({ record: { firstSequence: 1 + lost } });
      const decoder = new FrameDecoder(w.options());
      decoder.push(w.bytes);
      decoder.end();
      expect([...decoder]).toHaveLength(5);
      expect(decoder.nextSequence).toBe(w.next);
    }
  });

  test('a hole or a mark above it is a resync point too', () => {
    const w = new SegmentWriter()
      .items([one()])
      .raw(garbage)
      .skip(2)
      .items([{ type: 'hole', count: 2, incident: 9 }, { type: 'mark' }, one()]);
    expect(decode(w).map((r) => (r.kind === 'frame' ? r.record.type : r.kind))).toEqual([
      'batch',
      'damage',
      'hole',
      'mark',
      'batch',
    ]);
    const m = new SegmentWriter()
      .items([one()])
      .raw(garbage)
      .skip(2)
      .items([{ type: 'mark' }, one()]);
    expect(decode(m).map((r) => (r.kind === 'frame' ? r.record.type : r.kind))).toEqual([
      'batch',
      'damage',
      'mark',
      'batch',
    ]);
  });

  test('an intact frame below it (an older copy) is not a resync point', () => {
    const w = new SegmentWriter().items([one([put('a', '1')]), one([put('b', '2')])]);
    const [first, second] = w.frames.map((f) =>
      w.bytes.slice(f.offset - 48, f.offset - 48 + f.size),
    ) as [Uint8Array, Uint8Array];
    const skipped = garbage.length + first.length + second.length;
    w.raw(garbage).raw(first).raw(second).items([one()]);
    const [f0, f1, f2] = w.frames.map((f) => f.offset) as [number, number, number];
    expect(shape(decode(w))).toEqual([
      ['frame', f0, 'batch'],
      ['frame', f1, 'batch'],
      ['damage', f2 - skipped, skipped, 'bad-length', 2],
      ['frame', f2, 'batch'],
    ]);
  });

  test('a batch below the interrupted sequence but ending above it is not a resync point', () => {
    const w = new SegmentWriter().items([one(), one()]);
    const straddling = encodeBatchFrame(ctx, 1, [del('x'), del('y')]);
    w.raw(garbage).raw(straddling).skip(1).items([one()]);
    const results = decode(w);
    expect(results.map((r) => r.kind)).toEqual(['frame', 'frame', 'damage', 'frame']);
    expect(results[2]).toMatchObject({
      bytes: garbage.length + straddling.length,
      nextSequence: 2,
    });
  });
});

describe('after damage, resync accepts nothing at or above the ceiling', () => {
  const withCeiling = (items: Item[]) =>
    new SegmentWriter().items([one()]).raw(garbage).skip(9).items(items);

  test('a batch at the ceiling is not a resync point; one ending at it is', () => {
    // The batch after the damage holds sequence 10: it must end at or below the ceiling.
    const w = withCeiling([one()]);
    const damage = w.frames[1]?.offset as number;
    expect(shape(decode(w, 10))).toEqual([
      ['frame', 48, 'batch'],
      ['damage', damage - garbage.length, w.offset - damage + garbage.length, 'bad-length', 1],
    ]);
    expect(shape(decode(w, 11))[2]).toEqual(['frame', damage, 'batch']);
  });

  test('a hole that runs past the ceiling is not a resync point', () => {
    const w = withCeiling([{ type: 'hole', count: 3, incident: 1 }]);
    expect(decode(w, 12).map((r) => r.kind)).toEqual(['frame', 'damage']);
    expect(decode(w, 13).map((r) => r.kind)).toEqual(['frame', 'damage', 'frame']);
  });

  test('a seal or mark at the ceiling is a resync point; above it is not', () => {
    const sealed = withCeiling([{ type: 'seal' }]);
    expect(decode(sealed, 10).map((r) => (r.kind === 'frame' ? r.record.type : r.kind))).toEqual([
      'batch',
      'damage',
      'seal',
    ]);
    expect(decode(sealed, 9).map((r) => r.kind)).toEqual(['frame', 'damage']);
    const marked = withCeiling([{ type: 'mark' }]);
    expect(decode(marked, 10).map((r) => r.kind)).toEqual(['frame', 'damage', 'frame']);
    expect(decode(marked, 9).map((r) => r.kind)).toEqual(['frame', 'damage']);
  });
});

describe('nothing may follow a seal', () => {
  const sealed = () => new SegmentWriter().items([one(), one(), { type: 'seal' }]);

  test('the seal ends the segment: sealed, and its next sequence', () => {
    const w = sealed();
    const decoder = new FrameDecoder(w.options());
    decoder.push(w.bytes);
    expect([...decoder].map((r) => (r.kind === 'frame' ? r.record.type : r.kind))).toEqual([
      'batch',
      'batch',
      'seal',
    ]);
    expect([decoder.sealed, decoder.nextSequence, decoder.offset]).toEqual([true, 2, w.offset]);
    decoder.end();
    expect(decoder.next()).toBeUndefined();
  });

  const after: [string, (w: SegmentWriter) => Uint8Array][] = [
    [
      'a mark that would continue it',
      (w) => encodeMarkFrame({ salt: SALT, synced: w.offset }, w.next),
    ],
    [
      'a batch that would continue it',
      (w) => encodeBatchFrame(ctx, w.next, [put('k', 'v'.repeat(300))]),
    ],
    [
      'a second seal',
      (w) =>
        encodeSealFrame(ctx, {
          nextSequence: w.next,
          records: 2,
          bytes: w.offset + SEAL_FRAME_SIZE,
        }),
    ],
    ['garbage', () => garbage],
    ['zeros', () => new Uint8Array(4096)],
    ['a zero byte, then others', () => new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 7])],
    ['one byte', () => new Uint8Array([1])],
  ];
  test.each(after)('%s after the seal is bad-seal, whatever the chunking', (_, extra) => {
    const w = sealed();
    const end = w.offset;
    const bytes = extra(w);
    w.raw(bytes);
    const results = decode(w);
    expect(shape(results)).toEqual([
      ['frame', 48, 'batch'],
      ['frame', w.frames[1]?.offset, 'batch'],
      ['frame', end - SEAL_FRAME_SIZE, 'seal'],
      ['damage', end, bytes.length, 'bad-seal', 2],
    ]);
    const detail = decodeAll(w.bytes, w.options())[3];
    expect(detail?.kind === 'damage' && detail.detail).toBe(
      `expected the segment to end at its seal, found ${bytes.length} more bytes; ${bytes.length} bytes to the end of input`,
    );
  });

  test('bytes after a seal are reported only at end(): more may still arrive', () => {
    const w = sealed();
    const decoder = new FrameDecoder(w.options());
    decoder.push(w.bytes);
    decoder.push(new Uint8Array([1, 2, 3]));
    expect([...decoder]).toHaveLength(3);
    decoder.push(new Uint8Array([4]));
    expect(decoder.next()).toBeUndefined();
    decoder.end();
    expect(normalize([...decoder])).toEqual([
      { kind: 'damage', offset: w.offset, bytes: 4, reason: 'bad-seal', nextSequence: 2 },
    ]);
  });

  test('a seal found by resync ends the segment too', () => {
    const w = new SegmentWriter()
      .items([one()])
      .raw(garbage)
      .items([{ type: 'seal' }]);
    w.raw(encodeMarkFrame({ salt: SALT, synced: 48 }, w.next));
    expect(decode(w).map((r) => (r.kind === 'frame' ? r.record.type : r.reason))).toEqual([
      'batch',
      'bad-length',
      'seal',
      'bad-seal',
    ]);
  });
});

describe('the damage result and the decoder state', () => {
  test('damage carries the sequence the segment expected where it starts', () => {
    const w = new SegmentWriter(40).items([one([del('a'), del('b')])]).raw(garbage);
    const decoder = new FrameDecoder(w.options());
    decoder.push(w.bytes);
    expect(decoder.next()).toMatchObject({ kind: 'frame' });
    expect(decoder.nextSequence).toBe(42);
    // The damage runs to the end of input: open until end().
    expect(decoder.next()).toBeUndefined();
    expect(decoder.nextSequence).toBe(42);
    decoder.end();
    expect(decoder.next()).toMatchObject({
      kind: 'damage',
      nextSequence: 42,
      bytes: garbage.length,
    });
    expect(decoder.next()).toBeUndefined();
  });
});
