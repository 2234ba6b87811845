import { performance } from 'node:perf_hooks';
import zlib from 'node:zlib';
import { crc32Range } from '@wal/codec/internal';
import { checkFramesTrailer, checkFramesV1 } from '../crc-candidates/chunk-check.js';
import { type CaseResult, keyFor, randomBytes, summarize } from '../harness.js';
import { checkFrameCrcs, codecCrc, encodedFrames } from '../wal-api.js';

/** A native CRC-32 with zlib's signature, e.g. `@node-rs/crc32`'s `crc32` (the study only). */
export type NativeCrc = (data: Uint8Array, seed?: number) => number;

export const CRC_SIZES = [64, 128, 146, 256, 384, 512, 4096, 65536];

/** Inputs of one size back to back in a chunk, from an odd offset as frames sit in a read chunk. */
interface Inputs {
  chunk: Uint8Array;
  views: Uint8Array[];
  size: number;
  offset: number;
}

/**
 * One implementation's loop over every input; returns an XOR of the CRCs.
 * Each has its own loop, so every call site sees one function, as in a decoder.
 */
interface CrcImpl {
  name: string;
  /** The CRCs it computes, checked against zlib before timing; none for a whole-chunk pass. */
  each?(inputs: Inputs): number[];
  run(inputs: Inputs): number;
}

// Each loop is its own function literal, so its call site sees one CRC
// function only, as a decoder's would.
function implementations(native?: NativeCrc): CrcImpl[] {
  const each = (crc: (data: Uint8Array) => number) => (inputs: Inputs) =>
    inputs.views.map((v) => crc(v));
  const whole = ({ chunk, views, size, offset }: Inputs) =>
    chunk.subarray(offset, offset + views.length * size);
  const list: CrcImpl[] = [
    {
      name: '@wal/codec crc32 (its JS slicing-by-16 below 384 B, zlib above)',
      each: each(codecCrc.split),
      run({ views }) {
        let x = 0;
        for (let k = 0; k < views.length; k++) x ^= codecCrc.split(views[k] as Uint8Array);
        return x;
      },
    },
    {
      name: '@wal/codec crc32Small (its JS slicing-by-16 alone)',
      each: each(codecCrc.small),
      run({ views }) {
        let x = 0;
        for (let k = 0; k < views.length; k++) x ^= codecCrc.small(views[k] as Uint8Array);
        return x;
      },
    },
    {
      name: 'zlib.crc32',
      each: each(zlib.crc32),
      run({ views }) {
        let x = 0;
        for (let k = 0; k < views.length; k++) x ^= zlib.crc32(views[k] as Uint8Array);
        return x;
      },
    },
    {
      name: '@wal/codec crc32Range (its JS slicing-by-16 over a range, no subarray)',
      each: ({ chunk, views, size, offset }) =>
        views.map((_, k) => crc32Range(chunk, 0, offset + k * size, offset + (k + 1) * size)),
      run({ chunk, views, size, offset }) {
        let x = 0;
        for (let k = 0, p = offset; k < views.length; k++, p += size) {
          x ^= crc32Range(chunk, 0, p, p + size);
        }
        return x;
      },
    },
    {
      name: 'zlib.crc32, one call over all inputs back to back',
      run: (inputs) => zlib.crc32(whole(inputs)),
    },
  ];
  if (native) {
    list.push(
      {
        name: '@node-rs/crc32',
        each: each(native),
        run({ views }) {
          let x = 0;
          for (let k = 0; k < views.length; k++) x ^= native(views[k] as Uint8Array);
          return x;
        },
      },
      {
        name: '@node-rs/crc32, one call over all inputs back to back',
        run: (inputs) => native(whole(inputs)),
      },
    );
  }
  return list;
}

/**
 * CRC-32 throughput (GB/s) per input size and implementation, on about
 * `bytesPerSample` bytes per sample. Every implementation is checked against
 * zlib.crc32 on every input first. Rounds interleave the implementations;
 * the first round only warms up.
 */
export function crcThroughput(
  rounds: number,
  bytesPerSample: number,
  native?: NativeCrc,
): CaseResult[] {
  const impls = implementations(native);
  const rows: CaseResult[] = [];
  for (const size of CRC_SIZES) {
    const count = Math.max(4, Math.floor((1 << 20) / size));
    const offset = 3;
    const chunk = randomBytes(offset + count * size + 5, size);
    const views = Array.from({ length: count }, (_, k) =>
      chunk.subarray(offset + k * size, offset + (k + 1) * size),
    );
    const inputs = { chunk, views, size, offset };
    const expected = views.map((v) => zlib.crc32(v));
    for (const impl of impls) {
      const got = impl.each?.(inputs);
      if (got?.some((c, k) => c !== expected[k])) throw new Error(`${impl.name} is not CRC-32`);
    }
    const reps = Math.max(1, Math.round(bytesPerSample / (count * size)));
    const samples = impls.map(() => [] as number[]);
    for (let r = 0; r <= rounds; r++) {
      impls.forEach((impl, i) => {
        const start = performance.now();
        for (let rep = 0; rep < reps; rep++) impl.run(inputs);
        const seconds = (performance.now() - start) / 1000;
        if (r > 0) samples[i]?.push((reps * count * size) / 1e9 / seconds);
      });
    }
    impls.forEach((impl, i) => {
      rows.push(summarize(`CRC-32 (${size} B): ${impl.name}`, 'GB/s', samples[i] ?? []));
    });
  }
  return rows;
}

function readLe32(b: Uint8Array, p: number): number {
  return (
    ((b[p] as number) |
      ((b[p + 1] as number) << 8) |
      ((b[p + 2] as number) << 16) |
      ((b[p + 3] as number) << 24)) >>>
    0
  );
}

/** CRC-32 continued from `seed` over the 4 little-endian bytes of `word`: slicing-by-4, one step. */
function crc32Word(seed: number, word: number): number {
  const c = ~seed ^ word;
  return (
    ~(
      (WORD_TABLES[768 + (c & 255)] as number) ^
      (WORD_TABLES[512 + ((c >>> 8) & 255)] as number) ^
      (WORD_TABLES[256 + ((c >>> 16) & 255)] as number) ^
      (WORD_TABLES[c >>> 24] as number)
    ) >>> 0
  );
}

const WORD_TABLES = (() => {
  const t = new Int32Array(1024);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
    t[i] = c;
  }
  for (let s = 1; s < 4; s++) {
    for (let i = 0; i < 256; i++) {
      const prev = t[(s - 1) * 256 + i] as number;
      t[s * 256 + i] = (prev >>> 8) ^ (t[prev & 255] as number);
    }
  }
  return t;
})();

/**
 * `records` frames of `recordBytes` random bytes each, in today's layout
 * (`length | crc | record`) and in the CRC-trailer one (`length | record | crc`),
 * both with the CRC over the length bytes then the record.
 */
function framesInBothLayouts(records: number, recordBytes: number) {
  const frameBytes = 8 + recordBytes;
  const pool = randomBytes(records * recordBytes, 12);
  const v1 = new Uint8Array(records * frameBytes);
  const trailer = new Uint8Array(v1.length);
  const v1View = new DataView(v1.buffer);
  const trailerView = new DataView(trailer.buffer);
  const length = new Uint8Array(4);
  new DataView(length.buffer).setUint32(0, recordBytes, true);
  for (let i = 0, p = 0; i < records; i++, p += frameBytes) {
    const record = pool.subarray(i * recordBytes, (i + 1) * recordBytes);
    const crc = zlib.crc32(record, zlib.crc32(length));
    v1View.setUint32(p, recordBytes, true);
    v1View.setUint32(p + 4, crc, true);
    v1.set(record, p + 8);
    trailerView.setUint32(p, recordBytes, true);
    trailer.set(record, p + 4);
    trailerView.setUint32(p + 4 + recordBytes, crc, true);
  }
  return { v1, trailer, frameBytes };
}

/**
 * What checking every frame of a 1 MiB chunk costs per frame (ns), for
 * frames of one put with a 16-byte key and `valueBytes` value: today's codec
 * on its own frames, and the candidates on frames of today's layout built
 * here (so they keep measuring the same thing when the codec's format moves).
 */
export function frameCheckCost(
  valueBytes: number,
  rounds: number,
  native?: NativeCrc,
): CaseResult[] {
  // The record of one put today: type, sequence, count, op kind, key length, key, value length, value.
  const recordBytes = 13 + 5 + 16 + 4 + valueBytes;
  const frames = Math.floor((1 << 20) / (8 + recordBytes));
  const codec = encodedFrames(frames, keyFor, randomBytes(valueBytes, 12));
  const codecFrames = codec.bytes.length / codec.frameBytes;
  const { v1, trailer, frameBytes } = framesInBothLayouts(frames, recordBytes);
  const checks: { name: string; frames: number; run(): boolean }[] = [
    {
      name: '@wal/codec frameChecksum per frame, on its frames',
      frames: codecFrames,
      run: () => checkFrameCrcs(codec.bytes, codec.frameBytes) === codecFrames,
    },
    {
      name: 'JS slicing-by-16 per frame, range API without subarrays',
      frames,
      run() {
        let good = 0;
        for (let p = 0; p < v1.length; p += frameBytes) {
          const crc = crc32Range(v1, crc32Range(v1, 0, p, p + 4), p + 8, p + frameBytes);
          const stored =
            (v1[p + 4] as number) |
            ((v1[p + 5] as number) << 8) |
            ((v1[p + 6] as number) << 16) |
            ((v1[p + 7] as number) << 24);
          if (crc === stored >>> 0) good++;
        }
        return good === frames;
      },
    },
    {
      name: 'zlib.crc32 per frame: length bytes in JS, one native call over the record',
      frames,
      run() {
        let good = 0;
        for (let p = 0; p < v1.length; p += frameBytes) {
          const seed = crc32Word(0, readLe32(v1, p));
          const crc = zlib.crc32(v1.subarray(p + 8, p + frameBytes), seed);
          if (crc === readLe32(v1, p + 4)) good++;
        }
        return good === frames;
      },
    },
    {
      name: "one zlib.crc32 pass per 8 KiB window + combine, today's layout",
      frames,
      run() {
        let ok = true;
        for (let start = 0; start < v1.length; ) {
          let end = start;
          while (end < v1.length && end - start < 8192) end += 8 + readLe32(v1, end);
          ok = checkFramesV1(v1, start, end) && ok;
          start = end;
        }
        return ok;
      },
    },
    {
      name: "one zlib.crc32 pass + combine, today's layout",
      frames,
      run: () => checkFramesV1(v1, 0, v1.length),
    },
    {
      name: 'one zlib.crc32 pass + combine, CRC-trailer layout',
      frames,
      run: () => checkFramesTrailer(trailer, 0, trailer.length),
    },
  ];
  if (native) {
    checks.push(
      {
        name: "one @node-rs/crc32 pass + combine, today's layout",
        frames,
        run: () => checkFramesV1(v1, 0, v1.length, native),
      },
      {
        name: 'one @node-rs/crc32 pass + combine, CRC-trailer layout',
        frames,
        run: () => checkFramesTrailer(trailer, 0, trailer.length, native),
      },
    );
  }
  const samples = checks.map(() => [] as number[]);
  const reps = 8;
  for (let r = 0; r <= rounds; r++) {
    checks.forEach((check, i) => {
      const start = performance.now();
      for (let rep = 0; rep < reps; rep++) {
        if (!check.run()) throw new Error(`${check.name}: refused intact frames`);
      }
      const ns = ((performance.now() - start) * 1e6) / (reps * check.frames);
      if (r > 0) samples[i]?.push(ns);
    });
  }
  return checks.map((check, i) =>
    summarize(`frame check: ${check.name} (${frameBytes} B frames)`, 'ns/frame', samples[i] ?? []),
  );
}
