// biome-ignore-all lint/style/noNonNullAssertion: table lookups whose every index is in range by construction.
/**
 * Checks the CRCs of many frames with one `zlib.crc32` pass per window of
 * frames, instead of one CRC per frame: the native call is fast over many
 * bytes and costs more than a short record's CRC in JS, so one call per
 * frame does not pay.
 *
 * A native pass returns only the CRC of the whole window, but CRC-32 is
 * affine: the CRC of the window's bytes follows from each frame's stored CRC,
 * its length and the segment's salt (zlib's crc32_combine). If every frame
 * is intact the two agree. A window that disagrees holds a damaged frame; its
 * frames are then checked one by one, which finds it, as before.
 *
 * Agreement of a window is one CRC-32 over its bytes (the stored CRCs count
 * as if they followed their records), so windows are at most
 * `CRC_WINDOW_BYTES` (64 Kibit): a CRC-32 over up to 91,607 bits detects every
 * error of 1 to 3 bits, and any other error but with probability 2^-32. The
 * guarantee is per window, not per frame: 2 flipped bits in each of two
 * frames can cancel, where each frame's own CRC would have caught its pair. A frame longer than a window ends the walk: the
 * decoder checks it alone, as it would any frame.
 *
 * Notation: L(m) is the CRC register run from 0 over m, without the pre- and
 * post-inversion; it is linear, and S_n(v), v moved past n zero bytes, is
 * v * x^(8n) mod P. For the frame F = length | stored | record (r bytes):
 *   ~stored = S_{4+r}(~seed) ^ S_r(L(length)) ^ L(record)   (seed: saltSeed)
 * so the register after F, from a register `a` before it, is
 *   S_r(S_8(a) ^ L(stored) ^ S_4(L(length)) ^ L(length) ^ S_4(~seed)) ^ ~stored.
 */
import { readU32 } from './bytes.js';
import { FRAME_CRC_OFFSET, FRAME_HEADER_SIZE, MIN_RECORD_BYTES } from './constants.js';
import { CRC32_POLY, CRC32_TABLES, crc32Zlib } from './crc32.js';

/** The most bytes of frames one native pass checks. */
export const CRC_WINDOW_BYTES = 8192;

/** a * b mod P, in the reflected bit order (the top bit is x^0). */
function multModP(a: number, b: number): number {
  let p = 0;
  let m = b;
  for (let bit = 0x80000000; bit !== 0; bit >>>= 1) {
    if (a & bit) p ^= m;
    m = m & 1 ? (m >>> 1) ^ CRC32_POLY : m >>> 1;
  }
  return p >>> 0;
}

// X2N[k] = x^(2^k) mod P.
const X2N = new Int32Array(32);
X2N[0] = 0x40000000;
for (let k = 1; k < 32; k++) X2N[k] = multModP(X2N[k - 1]!, X2N[k - 1]!);

/** x^(8n) mod P: the factor that moves a register past n zero bytes. */
function x8n(n: number): number {
  let p = 0x80000000;
  for (let k = 3, rest = n; rest > 0; rest = Math.floor(rest / 2), k++) {
    if (rest % 2) p = multModP(X2N[k & 31]!, p);
  }
  return p;
}

/** Multiplication by a fixed `b` as four 256-entry tables, one per byte of the multiplicand. */
function timesTable(b: number): Int32Array {
  const t = new Int32Array(1024);
  for (let k = 0; k < 4; k++) {
    for (let j = 0; j < 8; j++) t[k * 256 + (1 << j)] = multModP(((1 << j) << (8 * k)) >>> 0, b);
    // Linear: the product of v is the XOR of the products of its bits.
    for (let v = 3; v < 256; v++) {
      if (v & (v - 1)) t[k * 256 + v] = t[k * 256 + (v & (v - 1))]! ^ t[k * 256 + (v & -v)]!;
    }
  }
  return t;
}

function times(t: Int32Array, a: number): number {
  return (
    t[a & 255]! ^ t[256 + ((a >>> 8) & 255)]! ^ t[512 + ((a >>> 16) & 255)]! ^ t[768 + (a >>> 24)]!
  );
}

const T = CRC32_TABLES;

/** L of one 4-byte little-endian word: slicing-by-4 from a zero register. */
function wordL(w: number): number {
  return (
    T[768 + (w & 255)]! ^ T[512 + ((w >>> 8) & 255)]! ^ T[256 + ((w >>> 16) & 255)]! ^ T[w >>> 24]!
  );
}

// SHIFT[k] moves a register past 2^k zero bytes; built when first needed.
const SHIFT: Int32Array[] = [];
function shiftTable(k: number): Int32Array {
  let t = SHIFT[k];
  if (t === undefined) {
    t = timesTable(x8n(2 ** k));
    SHIFT[k] = t;
  }
  return t;
}
const SHIFT4 = shiftTable(2);
const SHIFT8 = shiftTable(3);

/** S_r by the binary powers of r: for lengths without a table of their own. */
function shiftBy(v: number, r: number): number {
  let out = v;
  for (let k = 0, rest = r; rest > 0; rest = Math.floor(rest / 2), k++) {
    if (rest % 2) out = times(shiftTable(k), out);
  }
  return out;
}

/** Per record length: S_r as one table, and the length's own term. */
interface LengthTerms {
  shift: Int32Array;
  length: number;
}

// Shared by every decoder: the terms depend on the length only. Bounded:
// a log of many distinct lengths falls back to shiftBy past the first ones.
const LENGTHS = new Map<number, LengthTerms>();
const MAX_LENGTHS = 64;

function lengthTerms(r: number): LengthTerms | undefined {
  let terms = LENGTHS.get(r);
  if (terms === undefined && LENGTHS.size < MAX_LENGTHS) {
    const l = wordL(r);
    terms = { shift: timesTable(x8n(r)), length: times(SHIFT4, l) ^ l };
    LENGTHS.set(r, terms);
  }
  return terms;
}

/** What {@link checkFrameWindows} found. */
export interface WindowCheck {
  /** Frames from `start` up to here have valid CRCs (`start` when none). */
  valid: number;
  /** A window that failed ends here (its frames need checking one by one); `valid` when none failed. */
  failedEnd: number;
}

/**
 * Checks the CRCs of the complete frames that follow each other from
 * `buf[start]` (lengths in `[MIN_RECORD_BYTES, maxRecordBytes]`, frames
 * within a window's size and not past `end`), window by window, and stops at the first window that fails or at
 * the first position that is not a complete frame. `seed` is the segment's
 * `saltSeed`. It checks CRCs only: record contents are the decoder's job.
 */
export function checkFrameWindows(
  buf: Uint8Array,
  start: number,
  end: number,
  maxRecordBytes: number,
  seed: number,
  out: WindowCheck,
): WindowCheck {
  const saltTerm = times(SHIFT4, ~seed);
  let windowStart = start;
  let acc = -1;
  let p = start;
  // Most logs repeat a few lengths: keep the last one's terms at hand.
  let lastLength = -1;
  let terms: LengthTerms | undefined;
  for (;;) {
    let next = -1;
    if (end - p >= FRAME_HEADER_SIZE) {
      const r = readU32(buf, p);
      if (
        r >= MIN_RECORD_BYTES &&
        r <= maxRecordBytes &&
        r <= end - p - FRAME_HEADER_SIZE &&
        r <= CRC_WINDOW_BYTES - FRAME_HEADER_SIZE
      ) {
        next = p + FRAME_HEADER_SIZE + r;
        // Close the window first if this frame would overfill it.
        if (next - windowStart > CRC_WINDOW_BYTES) {
          if (!windowHolds(buf, windowStart, p, acc)) return failed(out, windowStart, p);
          windowStart = p;
          acc = -1;
        }
        const stored = readU32(buf, p + FRAME_CRC_OFFSET);
        if (r !== lastLength) {
          terms = lengthTerms(r);
          lastLength = r;
        }
        const lengthTerm = terms ? terms.length : times(SHIFT4, wordL(r)) ^ wordL(r);
        const x = times(SHIFT8, acc) ^ wordL(stored) ^ lengthTerm ^ saltTerm;
        acc = (terms ? times(terms.shift, x) : shiftBy(x, r)) ^ ~stored;
      }
    }
    if (next < 0) {
      if (p > windowStart && !windowHolds(buf, windowStart, p, acc)) {
        return failed(out, windowStart, p);
      }
      out.valid = p;
      out.failedEnd = p;
      return out;
    }
    p = next;
  }
}

function windowHolds(buf: Uint8Array, start: number, end: number, register: number): boolean {
  return crc32Zlib(buf.subarray(start, end)) === ~register >>> 0;
}

function failed(out: WindowCheck, valid: number, failedEnd: number): WindowCheck {
  out.valid = valid;
  out.failedEnd = failedEnd;
  return out;
}
