// Shared fixtures for the codec tests: records, an independent frame builder,
// and a normal form for decode results that compares bytes, not buffers.
import zlib from 'node:zlib';
import {
  type DecodeResult,
  encodeFrame,
  FrameDecoder,
  type FrameDecoderOptions,
  MAX_SEQUENCE,
  recordSize,
  type WalOp,
} from '@wal/codec';
import fc from 'fast-check';

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
export const put = (key: string, value: string): WalOp => ({
  type: 'put',
  key: utf8(key),
  value: utf8(value),
});
export const del = (key: string): WalOp => ({ type: 'delete', key: utf8(key) });
export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** A batch to write: its first sequence and its ops. */
export interface Batch {
  firstSequence: number;
  ops: WalOp[];
}

/** Where each batch landed in an encoded buffer. */
export interface Layout {
  bytes: Uint8Array;
  frames: { offset: number; size: number; batch: Batch }[];
}

/** Encodes batches back to back into one buffer, as a writer would. */
export function encodeBatches(batches: readonly Batch[]): Layout {
  const sizes = batches.map((b) => 8 + recordSize(b.ops));
  const bytes = new Uint8Array(sizes.reduce((a, b) => a + b, 0));
  const frames: Layout['frames'] = [];
  let offset = 0;
  batches.forEach((batch, i) => {
    const end = encodeFrame(bytes, offset, batch.firstSequence, batch.ops);
    frames.push({ offset, size: sizes[i] as number, batch });
    offset = end;
  });
  return { bytes, frames };
}

/**
 * A frame around an arbitrary record body, checksummed with zlib directly
 * (not through the codec): CRC-32 of the 4 length bytes, then the body.
 */
export function rawFrame(body: Uint8Array, length = body.length): Uint8Array {
  const out = new Uint8Array(8 + body.length);
  new DataView(out.buffer).setUint32(0, length, true);
  out.set(body, 8);
  const crc = zlib.crc32(out.subarray(8), zlib.crc32(out.subarray(0, 4)));
  new DataView(out.buffer).setUint32(4, crc, true);
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

/** A decode result with bytes as hex, so results from different buffers compare equal. */
export function normalize(results: readonly DecodeResult[]): unknown[] {
  return results.map((r) =>
    r.kind === 'damage'
      ? { kind: r.kind, offset: r.offset, bytes: r.bytes, reason: r.reason }
      : {
          kind: r.kind,
          offset: r.offset,
          size: r.size,
          firstSequence: r.record.firstSequence,
          entries: r.record.entries.map((e) =>
            e.type === 'put'
              ? { sequence: e.sequence, type: e.type, key: hex(e.key), value: hex(e.value) }
              : { sequence: e.sequence, type: e.type, key: hex(e.key), hasValue: 'value' in e },
          ),
        },
  );
}

/** What decoding `layout` must give (every frame a record), normalised; `base` shifts offsets. */
export function expectedRecords(layout: Layout, base = 0): unknown[] {
  return layout.frames.map(({ offset, size, batch }) => ({
    kind: 'record',
    offset: base + offset,
    size,
    firstSequence: batch.firstSequence,
    entries: batch.ops.map((op, i) =>
      op.type === 'put'
        ? {
            sequence: batch.firstSequence + i,
            type: 'put',
            key: hex(op.key),
            value: hex(op.value),
          }
        : { sequence: batch.firstSequence + i, type: 'delete', key: hex(op.key), hasValue: false },
    ),
  }));
}

/** Pushes `bytes` split at `cuts`, draining after every push, then ends. */
export function decodeSplit(
  bytes: Uint8Array,
  cuts: readonly number[],
  options?: FrameDecoderOptions,
): DecodeResult[] {
  const decoder = new FrameDecoder(options);
  const out: DecodeResult[] = [];
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    decoder.push(bytes.subarray(from, cut));
    out.push(...decoder);
    from = cut;
  }
  decoder.end();
  out.push(...decoder);
  return out;
}

/** Cut points for chunks of `size` bytes. */
export function chunkCuts(length: number, size: number): number[] {
  const cuts: number[] = [];
  for (let p = size; p < length; p += size) cuts.push(p);
  return cuts;
}

/** A small log with every shape of op: empty key, empty value, delete, multi-op batch. */
export function sampleLayout(): Layout {
  return encodeBatches([
    { firstSequence: 1, ops: [put('a', '1')] },
    { firstSequence: 2, ops: [put('', '')] },
    { firstSequence: 3, ops: [del('a'), put('key', 'value'), del('')] },
    { firstSequence: 6, ops: [put('b', 'x'.repeat(40))] },
  ]);
}

const bytesArb = fc.oneof(
  fc.uint8Array({ maxLength: 24 }),
  fc.constant(new Uint8Array(0)),
  fc.uint8Array({ minLength: 200, maxLength: 600 }),
);

export const opArb: fc.Arbitrary<WalOp> = fc.oneof(
  fc.record({ type: fc.constant('put' as const), key: bytesArb, value: bytesArb }),
  fc.record({ type: fc.constant('delete' as const), key: bytesArb }),
);

/** A batch of 1..maxOps ops, with a first sequence that is small or near 2^53. */
export function batchArb(maxOps = 6): fc.Arbitrary<Batch> {
  return fc
    .array(opArb, { minLength: 1, maxLength: maxOps })
    .chain((ops) =>
      fc
        .oneof(
          fc.nat({ max: 1000 }),
          fc.integer({ min: MAX_SEQUENCE - 1000, max: MAX_SEQUENCE - ops.length + 1 }),
        )
        .map((firstSequence) => ({ firstSequence, ops })),
    );
}

/** The largest and the total size of the Uint8Array and ArrayBuffer allocations `fn` makes. */
export function allocations(fn: () => void): { largest: number; total: number } {
  const saved = { Uint8Array: globalThis.Uint8Array, ArrayBuffer: globalThis.ArrayBuffer };
  const seen = { largest: 0, total: 0 };
  const watch = <T extends object>(ctor: T): T =>
    new Proxy(ctor, {
      construct(target, args, newTarget) {
        const [arg] = args;
        const size =
          typeof arg === 'number'
            ? arg
            : typeof arg === 'object' && arg !== null && 'length' in arg
              ? Number(arg.length)
              : 0;
        seen.largest = Math.max(seen.largest, size);
        seen.total += size;
        return Reflect.construct(target as never, args, newTarget);
      },
    });
  globalThis.Uint8Array = watch(saved.Uint8Array);
  globalThis.ArrayBuffer = watch(saved.ArrayBuffer);
  try {
    fn();
  } finally {
    globalThis.Uint8Array = saved.Uint8Array;
    globalThis.ArrayBuffer = saved.ArrayBuffer;
  }
  return seen;
}
