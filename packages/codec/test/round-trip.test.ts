import {
  DEFAULT_MAX_RECORD_BYTES,
  decodeAll,
  ErrorCode,
  encodeRecord,
  FrameDecoder,
  MAX_SEQUENCE,
  recordSize,
  WalError,
  type WalOp,
} from '@wal/codec';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { batchArb, encodeBatches, expectedRecords, normalize, opArb } from './helpers.js';

describe('round trip', () => {
  test('any sequence of batches decodes to exactly what was written', () => {
    fc.assert(
      fc.property(fc.array(batchArb(), { minLength: 1, maxLength: 8 }), (batches) => {
        const layout = encodeBatches(batches);
        expect(normalize(decodeAll(layout.bytes))).toEqual(expectedRecords(layout));
      }),
      { numRuns: 300 },
    );
  });

  test('encodeRecord and encodeFrame produce the same bytes', () => {
    fc.assert(
      fc.property(batchArb(), ({ firstSequence, ops }) => {
        const single = encodeRecord(firstSequence, ops);
        const { bytes } = encodeBatches([{ firstSequence, ops }]);
        expect(single).toEqual(bytes);
        expect(single.length).toBe(8 + recordSize(ops));
      }),
    );
  });

  test('the file offset option shifts every reported offset', () => {
    fc.assert(
      fc.property(
        fc.array(batchArb(3), { minLength: 1, maxLength: 4 }),
        fc.nat({ max: 1 << 20 }),
        (batches, base) => {
          const layout = encodeBatches(batches);
          const results = decodeAll(layout.bytes, { offset: base });
          expect(normalize(results)).toEqual(expectedRecords(layout, base));
        },
      ),
    );
  });

  test('the last sequences below 2^53 round-trip exactly', () => {
    const ops: WalOp[] = [
      { type: 'delete', key: new Uint8Array([1]) },
      { type: 'delete', key: new Uint8Array([2]) },
    ];
    const [r] = decodeAll(encodeRecord(MAX_SEQUENCE - 1, ops));
    expect(r?.kind === 'record' && r.record.entries.map((e) => e.sequence)).toEqual([
      MAX_SEQUENCE - 1,
      MAX_SEQUENCE,
    ]);
  });
});

describe('records at the size limit', () => {
  // A batch plus one delete whose key brings the record to exactly `max` bytes.
  const atLimit = fc
    .tuple(fc.array(opArb, { maxLength: 3 }), fc.nat({ max: 64 }), fc.nat({ max: 1000 }))
    .map(([ops, extra, firstSequence]) => {
      const base = ops.length === 0 ? 13 : recordSize(ops);
      const max = base + 5 + extra;
      const fill: WalOp = { type: 'delete', key: new Uint8Array(extra).fill(0xab) };
      return { max, firstSequence, ops: [...ops, fill] };
    });

  test('a record of exactly maxRecordBytes encodes and decodes under that limit', () => {
    fc.assert(
      fc.property(atLimit, ({ max, firstSequence, ops }) => {
        expect(recordSize(ops)).toBe(max);
        const frame = encodeRecord(firstSequence, ops, max);
        const [r, ...rest] = decodeAll(frame, { maxRecordBytes: max });
        expect(rest).toEqual([]);
        expect(r?.kind).toBe('record');
      }),
    );
  });

  test('one byte more is refused on write and is bad-length on read', () => {
    fc.assert(
      fc.property(atLimit, ({ max, firstSequence, ops }) => {
        const last = ops[ops.length - 1] as WalOp;
        const bigger = [...ops.slice(0, -1), { ...last, key: new Uint8Array(last.key.length + 1) }];
        expect(() => encodeRecord(firstSequence, bigger, max)).toThrow(
          expect.objectContaining({ code: ErrorCode.RECORD_TOO_LARGE }),
        );
        const frame = encodeRecord(firstSequence, bigger, max + 1);
        expect(decodeAll(frame, { maxRecordBytes: max })).toEqual([
          expect.objectContaining({ kind: 'damage', offset: 0, bytes: frame.length }),
        ]);
        expect(decodeAll(frame, { maxRecordBytes: max })[0]).toMatchObject({
          reason: 'bad-length',
        });
      }),
    );
  });

  test('the default limit: 16 MiB round-trips, 16 MiB + 1 throws before allocating', () => {
    const value = new Uint8Array(DEFAULT_MAX_RECORD_BYTES - 13 - 5 - 4).fill(7);
    const ops: WalOp[] = [{ type: 'put', key: new Uint8Array(0), value }];
    const frame = encodeRecord(0, ops);
    expect(frame.length).toBe(8 + DEFAULT_MAX_RECORD_BYTES);
    const decoder = new FrameDecoder();
    decoder.push(frame);
    const r = decoder.next();
    expect(r?.kind === 'record' && r.record.entries[0]?.value?.length).toBe(value.length);

    const tooBig: WalOp[] = [{ type: 'put', key: new Uint8Array(1), value }];
    let thrown: unknown;
    try {
      encodeRecord(0, tooBig);
    } catch (e) {
      thrown = e;
    }
    expect(WalError.isInstance(thrown, ErrorCode.RECORD_TOO_LARGE)).toBe(true);
    expect((thrown as Error).message).toBe(
      `expected a record of at most ${DEFAULT_MAX_RECORD_BYTES} bytes (maxRecordBytes), found ${DEFAULT_MAX_RECORD_BYTES + 1} bytes`,
    );
  });
});
