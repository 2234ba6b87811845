// Shared fixtures for the codec tests: segments of every record type, an
// independent frame builder, and a normal form for decode results that
// compares bytes, not buffers.
import zlib from 'node:zlib';
import {
  type DecodedRecord,
  type DecodeResult,
  encodeBatchFrame,
  encodeHoleFrame,
  encodeMarkFrame,
  encodeSealFrame,
  FrameDecoder,
  type FrameDecoderOptions,
  MAX_RECORD_BYTES_LIMIT,
  MAX_SEQUENCE,
  SEAL_FRAME_SIZE,
  SEGMENT_HEADER_SIZE,
  WalError,
  type WalOp,
} from '@wal/codec';
import { utf8 } from '@wal/test-support';
import fc from 'fast-check';

/** The salt most tests write with. */
export const SALT = 0x5a17_c0de;

export { utf8 };
export const put = (key: string, value: string): WalOp => ({
  type: 'put',
  key: utf8(key),
  value: utf8(value),
});
export const del = (key: string): WalOp => ({ type: 'delete', key: utf8(key) });
export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

export function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

/** A copy of `bytes` with bit `bit` (0 = the low bit of byte 0) inverted. */
export function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const copy = new Uint8Array(bytes);
  copy[bit >> 3] = (copy[bit >> 3] as number) ^ (1 << (bit & 7));
  return copy;
}

/** A record to write. Sequences are not given: they continue the segment exactly. */
export type Item =
  | { type: 'batch'; ops: WalOp[] }
  | { type: 'mark' }
  | { type: 'hole'; count: number; incident: number }
  | { type: 'seal' };

/** One written frame: where it is, and what decoding it must give (normalised). */
export interface WrittenFrame {
  offset: number;
  size: number;
  item: Item;
  /** The sequence the segment expects after this frame. */
  next: number;
  expected: NormalFrame;
}

/** The frames of one segment (the bytes after its header), as a writer lays them out. */
export interface Segment {
  salt: number;
  firstSequence: number;
  /** File offset of `bytes[0]`. */
  base: number;
  bytes: Uint8Array;
  frames: WrittenFrame[];
  /** The sequence after the last entry written. */
  nextSequence: number;
}

export interface SegmentOptions {
  salt?: number;
  firstSequence?: number;
  /** File offset of the first frame. Default `SEGMENT_HEADER_SIZE`. */
  base?: number;
  /** The synced watermark of the frame at `offset` (the `index`th). Default: the header only. */
  synced?: (offset: number, index: number) => number;
}

/** Encodes items back to back, as a writer would: exact sequences, a seal's `bytes` its own end. */
export function encodeSegment(items: readonly Item[], options: SegmentOptions = {}): Segment {
  const salt = options.salt ?? SALT;
  const firstSequence = options.firstSequence ?? 0;
  const base = options.base ?? SEGMENT_HEADER_SIZE;
  const syncedAt = options.synced ?? (() => SEGMENT_HEADER_SIZE);
  const parts: Uint8Array[] = [];
  const frames: WrittenFrame[] = [];
  let offset = base;
  let next = firstSequence;
  let records = 0;
  items.forEach((item, index) => {
    const context = { salt, synced: syncedAt(offset, index) };
    let frame: Uint8Array;
    let record: DecodedRecord;
    if (item.type === 'batch') {
      frame = encodeBatchFrame(context, next, item.ops, MAX_RECORD_BYTES_LIMIT);
      record = {
        type: 'batch',
        synced: context.synced,
        firstSequence: next,
        entries: item.ops.map((op, i) =>
          op.type === 'put'
            ? { sequence: next + i, type: 'put', key: op.key, value: op.value }
            : { sequence: next + i, type: 'delete', key: op.key },
        ),
      };
      next += item.ops.length;
      records += 1;
    } else if (item.type === 'hole') {
      const hole = {
        firstSequence: next,
        nextSequence: next + item.count,
        incident: item.incident,
      };
      frame = encodeHoleFrame(context, hole);
      record = { type: 'hole', synced: context.synced, ...hole };
      next += item.count;
      records += 1;
    } else if (item.type === 'mark') {
      frame = encodeMarkFrame(context, next);
      record = { type: 'mark', synced: context.synced, nextSequence: next };
    } else {
      const seal = { nextSequence: next, records, bytes: offset + SEAL_FRAME_SIZE };
      frame = encodeSealFrame(context, seal);
      record = { type: 'seal', synced: context.synced, ...seal };
    }
    const expected: NormalFrame = {
      kind: 'frame',
      offset,
      size: frame.length,
      record: normalizeRecord(record),
    };
    frames.push({ offset, size: frame.length, item, next, expected });
    parts.push(frame);
    offset += frame.length;
  });
  return { salt, firstSequence, base, bytes: concat(...parts), frames, nextSequence: next };
}

/**
 * Lays out one segment's bytes piece by piece: records that continue the
 * sequences at their file offsets, raw bytes (damage, foreign frames), and
 * sequences skipped (entries lost).
 */
export class SegmentWriter {
  readonly #parts: Uint8Array[] = [];
  readonly salt: number;
  readonly firstSequence: number;
  offset: number = SEGMENT_HEADER_SIZE;
  next: number;
  /** Every frame written with `items`, in order. */
  readonly frames: WrittenFrame[] = [];

  constructor(firstSequence = 0, salt = SALT) {
    this.firstSequence = firstSequence;
    this.next = firstSequence;
    this.salt = salt;
  }

  items(items: readonly Item[], synced?: SegmentOptions['synced']): this {
    const segment = encodeSegment(items, {
      salt: this.salt,
      firstSequence: this.next,
      base: this.offset,
      ...(synced ? { synced } : {}),
    });
    this.frames.push(...segment.frames);
    this.next = segment.nextSequence;
    return this.raw(segment.bytes);
  }

  raw(bytes: Uint8Array): this {
    this.#parts.push(bytes);
    this.offset += bytes.length;
    return this;
  }

  skip(sequences: number): this {
    this.next += sequences;
    return this;
  }

  get bytes(): Uint8Array {
    return concat(...this.#parts);
  }

  /** Decoder options for these bytes. */
  options(extra: Partial<FrameDecoderOptions> = {}): FrameDecoderOptions {
    return { salt: this.salt, firstSequence: this.firstSequence, ...extra };
  }
}

/** The decoder options that read `segment` back. */
export function optionsOf(segment: Segment, extra: Partial<FrameDecoderOptions> = {}) {
  return {
    salt: segment.salt,
    firstSequence: segment.firstSequence,
    offset: segment.base,
    maxRecordBytes: MAX_RECORD_BYTES_LIMIT,
    ...extra,
  };
}

/** What decoding an undamaged segment must give: every frame, as written. */
export function expectedFrames(segment: Segment): NormalFrame[] {
  return segment.frames.map((f) => f.expected);
}

/**
 * A frame around arbitrary record bytes, checksummed with zlib directly (not
 * through the codec): CRC-32 over the salt (4 bytes LE), the 4 length bytes,
 * then the record.
 */
export function rawFrame(record: Uint8Array, salt = SALT, length = record.length): Uint8Array {
  const out = Buffer.alloc(8 + record.length);
  out.writeUInt32LE(length, 0);
  out.set(record, 8);
  const saltBytes = Buffer.alloc(4);
  saltBytes.writeUInt32LE(salt);
  const crc = zlib.crc32(Buffer.concat([saltBytes, out.subarray(0, 4), out.subarray(8)]));
  out.writeUInt32LE(crc, 4);
  return new Uint8Array(out);
}

/** A field of a hand-built record: u8, u32, a u64 (any value up to 2^64 - 1), or raw bytes. */
export type Field =
  | ['u8', number]
  | ['u32', number]
  | ['u64', bigint | number]
  | ['bytes', number[]];

/** Record bytes from fields, little-endian, back to back. */
export function recordBytes(...fields: Field[]): Uint8Array {
  const parts = fields.map(([kind, value]) => {
    if (kind === 'bytes') return Buffer.from(value);
    const buf = Buffer.alloc(kind === 'u8' ? 1 : kind === 'u32' ? 4 : 8);
    if (kind === 'u8') buf.writeUInt8(value);
    else if (kind === 'u32') buf.writeUInt32LE(value);
    else buf.writeBigUInt64LE(BigInt(value));
    return buf;
  });
  return new Uint8Array(Buffer.concat(parts));
}

export interface NormalFrame {
  kind: 'frame';
  offset: number;
  size: number;
  record: Record<string, unknown>;
}

export interface NormalDamage {
  kind: 'damage';
  offset: number;
  bytes: number;
  reason: string;
  nextSequence: number;
}

export type Normal = NormalFrame | NormalDamage;

function normalizeRecord(record: DecodedRecord): Record<string, unknown> {
  if (record.type !== 'batch') return { ...record };
  return {
    ...record,
    entries: record.entries.map((e) =>
      e.type === 'put'
        ? { sequence: e.sequence, type: e.type, key: hex(e.key), value: hex(e.value) }
        : { sequence: e.sequence, type: e.type, key: hex(e.key), hasValue: 'value' in e },
    ),
  };
}

/** Decode results with bytes as hex, so results from different buffers compare equal. */
export function normalize(results: readonly (DecodeResult | undefined)[]): Normal[] {
  return results.map((r) => {
    if (r === undefined) throw new Error('expected a result, found undefined');
    return r.kind === 'damage'
      ? {
          kind: r.kind,
          offset: r.offset,
          bytes: r.bytes,
          reason: r.reason,
          nextSequence: r.nextSequence,
        }
      : { kind: r.kind, offset: r.offset, size: r.size, record: normalizeRecord(r.record) };
  });
}

/** Pushes `bytes` split at `cuts`, draining after every push, then ends. */
export function decodeSplit(
  bytes: Uint8Array,
  cuts: readonly number[],
  options: FrameDecoderOptions,
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

/** Items with every shape: empty key, empty value, delete, multi-op batch, mark, hole, seal. */
export const sampleItems: readonly Item[] = [
  { type: 'batch', ops: [put('a', '1')] },
  { type: 'batch', ops: [put('', '')] },
  { type: 'batch', ops: [del('a'), put('key', 'value'), del('')] },
  { type: 'mark' },
  { type: 'hole', count: 2, incident: 7 },
  { type: 'batch', ops: [put('b', 'x'.repeat(40))] },
  { type: 'seal' },
];

/** The sample items from sequence 1; the first two frames share a group, later ones are synced. */
export function sampleSegment(): Segment {
  return encodeSegment(sampleItems, {
    firstSequence: 1,
    synced: (offset, index) => (index < 2 ? SEGMENT_HEADER_SIZE : offset),
  });
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

/** A batch, mark or hole (mostly batches). */
export function itemArb(maxOps = 6): fc.Arbitrary<Item> {
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc
        .array(opArb, { minLength: 1, maxLength: maxOps })
        .map((ops): Item => ({ type: 'batch', ops })),
    },
    { weight: 1, arbitrary: fc.constant<Item>({ type: 'mark' }) },
    {
      weight: 1,
      arbitrary: fc
        .record({ count: fc.integer({ min: 1, max: 5 }), incident: fc.nat({ max: 0xffff_ffff }) })
        .map(({ count, incident }): Item => ({ type: 'hole', count, incident })),
    },
  );
}

/** Sequences the items take. */
export function sequencesTaken(items: readonly Item[]): number {
  return items.reduce(
    (n, item) =>
      n + (item.type === 'batch' ? item.ops.length : item.type === 'hole' ? item.count : 0),
    0,
  );
}

/**
 * A random segment: any salt, a first sequence that is small or near 2^53,
 * 1..maxItems records, sealed or not, and synced watermarks anywhere in
 * [SEGMENT_HEADER_SIZE, the frame's offset].
 */
export function segmentArb(maxItems = 6, maxOps = 4): fc.Arbitrary<Segment> {
  return fc
    .record({
      items: fc.array(itemArb(maxOps), { minLength: 1, maxLength: maxItems }),
      sealed: fc.boolean(),
      salt: fc.nat({ max: 0xffff_ffff }),
      fractions: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), {
        minLength: maxItems + 1,
        maxLength: maxItems + 1,
      }),
      nearTop: fc.boolean(),
      start: fc.nat({ max: 1000 }),
    })
    .map(({ items, sealed, salt, fractions, nearTop, start }) => {
      const firstSequence = nearTop ? MAX_SEQUENCE - sequencesTaken(items) - start : start;
      return encodeSegment(sealed ? [...items, { type: 'seal' }] : items, {
        salt,
        firstSequence,
        synced: (offset, i) =>
          SEGMENT_HEADER_SIZE + Math.floor((fractions[i] ?? 0) * (offset - SEGMENT_HEADER_SIZE)),
      });
    });
}

/** Sorted, distinct cut points from fractions of `length`. */
export function cutsFrom(points: readonly number[], length: number): number[] {
  return [...new Set(points.map((p) => Math.floor(p * length)))].sort((a, b) => a - b);
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

/** The WalError `fn` throws (anything else is rethrown; no throw fails). */
export function thrown(fn: () => unknown): WalError {
  try {
    fn();
  } catch (e) {
    if (WalError.isInstance(e)) return e;
    throw e;
  }
  throw new Error('expected a throw, found none');
}
