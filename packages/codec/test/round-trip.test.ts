import {
  DEFAULT_MAX_RECORD_BYTES,
  type DecodedRecord,
  decodeAll,
  ErrorCode,
  encodeBatch,
  encodeBatchFrame,
  FrameDecoder,
  MAX_SEQUENCE,
  recordSize,
  sequencesOf,
  WalError,
  type WalOp,
} from '@wal/codec';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  del,
  encodeSegment,
  expectedFrames,
  type Item,
  normalize,
  opArb,
  optionsOf,
  SALT,
  segmentArb,
} from './helpers.js';

describe('round trip', () => {
  test('any segment of batches, marks and holes, sealed or not, decodes to what was written', () => {
    fc.assert(
      fc.property(segmentArb(8), (segment) => {
        const results = decodeAll(segment.bytes, optionsOf(segment));
        expect(normalize(results)).toEqual(expectedFrames(segment));
      }),
      { numRuns: 300 },
    );
  });

  test('the decoder ends where the writer did: offset, next sequence, sealed', () => {
    fc.assert(
      fc.property(segmentArb(5), (segment) => {
        const decoder = new FrameDecoder(optionsOf(segment));
        decoder.push(segment.bytes);
        decoder.end();
        expect([...decoder].every((r) => r.kind === 'frame')).toBe(true);
        expect(decoder.offset).toBe(segment.base + segment.bytes.length);
        expect(decoder.nextSequence).toBe(segment.nextSequence);
        expect(decoder.sealed).toBe(segment.frames.at(-1)?.item.type === 'seal');
      }),
    );
  });

  test('encodeBatchFrame and encodeBatch produce the same bytes', () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { minLength: 1, maxLength: 5 }),
        fc.nat({ max: 1000 }),
        fc.nat({ max: 0xffff_ffff }),
        fc.nat({ max: 0xffff_ffff }),
        (ops, firstSequence, salt, synced) => {
          const single = encodeBatchFrame({ salt, synced }, firstSequence, ops);
          const target = new Uint8Array(8 + recordSize(ops));
          expect(encodeBatch(target, 0, { salt, synced }, firstSequence, ops)).toBe(target.length);
          expect(single).toEqual(target);
        },
      ),
    );
  });

  test('the offset option shifts every reported offset (and what synced may be)', () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { minLength: 1, maxLength: 3 }),
        fc.nat({ max: 1 << 20 }),
        (ops, shift) => {
          const items: Item[] = [{ type: 'batch', ops }, { type: 'mark' }, { type: 'seal' }];
          const base = 48 + shift;
          const segment = encodeSegment(items, { base, synced: (offset) => offset });
          const results = decodeAll(segment.bytes, optionsOf(segment));
          expect(normalize(results)).toEqual(expectedFrames(segment));
          expect(results[0]?.offset).toBe(base);
        },
      ),
    );
  });

  test('the last sequences below 2^53 round-trip exactly; the next sequence may be 2^53 - 1', () => {
    const items: Item[] = [
      { type: 'batch', ops: [del('a'), del('b')] },
      { type: 'hole', count: 2, incident: 1 },
      { type: 'mark' },
      { type: 'seal' },
    ];
    const segment = encodeSegment(items, { firstSequence: MAX_SEQUENCE - 4 });
    const results = decodeAll(segment.bytes, optionsOf(segment));
    expect(normalize(results)).toEqual(expectedFrames(segment));
    const [batch, hole, mark, seal] = results.map((r) => (r.kind === 'frame' ? r.record : null));
    expect(batch?.type === 'batch' && batch.entries.map((e) => e.sequence)).toEqual([
      MAX_SEQUENCE - 4,
      MAX_SEQUENCE - 3,
    ]);
    expect(hole).toMatchObject({ firstSequence: MAX_SEQUENCE - 2, nextSequence: MAX_SEQUENCE });
    expect(mark).toMatchObject({ nextSequence: MAX_SEQUENCE });
    expect(seal).toMatchObject({ nextSequence: MAX_SEQUENCE, records: 2 });
  });
});

describe('sequencesOf', () => {
  test('the sequences each record type covers, from first up to next', () => {
    const entry = { type: 'delete' as const, key: new Uint8Array(0) };
    const records: [DecodedRecord, { first: number; next: number }][] = [
      [
        {
          type: 'batch',
          synced: 48,
          firstSequence: 7,
          entries: [
            { ...entry, sequence: 7 },
            { ...entry, sequence: 8 },
          ],
        },
        { first: 7, next: 9 },
      ],
      [
        { type: 'hole', synced: 48, firstSequence: 3, nextSequence: 10, incident: 1 },
        { first: 3, next: 10 },
      ],
      [
        { type: 'mark', synced: 48, nextSequence: 5 },
        { first: 5, next: 5 },
      ],
      [
        { type: 'seal', synced: 48, nextSequence: 6, records: 2, bytes: 100 },
        { first: 6, next: 6 },
      ],
    ];
    for (const [record, expected] of records) expect(sequencesOf(record)).toEqual(expected);
  });
});

describe('records at the size limit', () => {
  // Ops plus one delete whose key brings the record to exactly `max` bytes.
  const atLimit = fc
    .tuple(fc.array(opArb, { maxLength: 3 }), fc.nat({ max: 64 }), fc.nat({ max: 1000 }))
    .map(([ops, extra, firstSequence]) => {
      const base = ops.length === 0 ? 17 : recordSize(ops);
      const max = base + 5 + extra;
      const fill: WalOp = { type: 'delete', key: new Uint8Array(extra).fill(0xab) };
      return { max, firstSequence, ops: [...ops, fill] };
    });
  const ctx = { salt: SALT, synced: 48 };
  const options = (max: number, firstSequence: number) => ({
    salt: SALT,
    firstSequence,
    maxRecordBytes: max,
  });

  test('a record of exactly maxRecordBytes encodes and decodes under that limit', () => {
    fc.assert(
      fc.property(atLimit, ({ max, firstSequence, ops }) => {
        expect(recordSize(ops)).toBe(max);
        const frame = encodeBatchFrame(ctx, firstSequence, ops, max);
        const [r, ...rest] = decodeAll(frame, options(max, firstSequence));
        expect(rest).toEqual([]);
        expect(r?.kind).toBe('frame');
      }),
    );
  });

  test('one byte more is refused on write and is bad-length on read', () => {
    fc.assert(
      fc.property(atLimit, ({ max, firstSequence, ops }) => {
        const last = ops[ops.length - 1] as WalOp;
        const bigger = [...ops.slice(0, -1), { ...last, key: new Uint8Array(last.key.length + 1) }];
        expect(() => encodeBatchFrame(ctx, firstSequence, bigger, max)).toThrow(
          expect.objectContaining({ code: ErrorCode.RECORD_TOO_LARGE }),
        );
        const frame = encodeBatchFrame(ctx, firstSequence, bigger, max + 1);
        expect(normalize(decodeAll(frame, options(max, firstSequence)))).toEqual([
          {
            kind: 'damage',
            offset: 48,
            bytes: frame.length,
            reason: 'bad-length',
            nextSequence: firstSequence,
          },
        ]);
      }),
    );
  });

  test('the default limit: 16 MiB round-trips, 16 MiB + 1 throws', () => {
    const value = new Uint8Array(DEFAULT_MAX_RECORD_BYTES - 17 - 5 - 4).fill(7);
    const ops: WalOp[] = [{ type: 'put', key: new Uint8Array(0), value }];
    const frame = encodeBatchFrame(ctx, 0, ops);
    expect(frame.length).toBe(8 + DEFAULT_MAX_RECORD_BYTES);
    const decoder = new FrameDecoder({ salt: SALT, firstSequence: 0 });
    decoder.push(frame);
    const r = decoder.next();
    expect(
      r?.kind === 'frame' && r.record.type === 'batch' && r.record.entries[0]?.value?.length,
    ).toBe(value.length);

    const tooBig: WalOp[] = [{ type: 'put', key: new Uint8Array(1), value }];
    let error: unknown;
    try {
      encodeBatchFrame(ctx, 0, tooBig);
    } catch (e) {
      error = e;
    }
    expect(WalError.isInstance(error, ErrorCode.RECORD_TOO_LARGE)).toBe(true);
    expect((error as Error).message).toBe(
      `expected a record of at most ${DEFAULT_MAX_RECORD_BYTES} bytes (maxRecordBytes), found ${DEFAULT_MAX_RECORD_BYTES + 1} bytes`,
    );
  });
});
