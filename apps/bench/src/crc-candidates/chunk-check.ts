// biome-ignore-all lint/style/noNonNullAssertion: table lookups whose every index is in range by construction.
/**
 * Checks every frame of a chunk with ONE CRC-32 pass over the whole chunk
 * (zlib.crc32, or any native CRC), instead of one CRC per frame.
 *
 * One pass cannot give each frame's own CRC: a native call returns only the
 * final value. But CRC-32 is affine, so the CRC of the whole chunk follows
 * from each frame's stored CRC and its length (zlib's crc32_combine). If
 * every frame is intact the two agree; if they disagree, some frame is
 * damaged and the caller checks frame by frame to find which. A candidate
 * measured by the bench's CRC section, not the codec's reader.
 *
 * Notation: L(m) is the CRC register run from 0 over m, without the pre- and
 * post-inversion. It is linear: L(A B) = L(A) x^(8|B|) + L(B) (mod P, in
 * GF(2)), and crc32(m) = L(m) + Z(|m|), where Z(n) = crc32 of n zero bytes.
 */
import zlib from 'node:zlib';

const POLY = 0xedb88320;

/** a * b mod P, in zlib's reflected bit order (the top bit is x^0). */
function multModP(a: number, b: number): number {
  let p = 0;
  let m = b;
  for (let bit = 0x80000000; bit !== 0; bit >>>= 1) {
    if (a & bit) p ^= m;
    m = m & 1 ? (m >>> 1) ^ POLY : m >>> 1;
  }
  return p >>> 0;
}

// X2N[k] = x^(2^k) mod P.
const X2N = new Int32Array(32);
X2N[0] = 0x40000000;
for (let k = 1; k < 32; k++) X2N[k] = multModP(X2N[k - 1]!, X2N[k - 1]!);

/** x^(8n) mod P: the factor that moves a CRC register past n zero bytes. */
function x8n(n: number): number {
  let p = 0x80000000;
  for (let k = 3, rest = n; rest > 0; rest = Math.floor(rest / 2), k++) {
    if (rest % 2) p = multModP(X2N[k & 31]!, p);
  }
  return p;
}

/** crc32 of n zero bytes: the inverted start register, moved past them, inverted. */
function zeros(n: number): number {
  return (multModP(0xffffffff, x8n(n)) ^ 0xffffffff) >>> 0;
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

// L of one 4-byte word, read little-endian: slicing-by-4 from a zero register.
const WORD = (() => {
  const t = new Int32Array(1024);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[i] = c;
  }
  for (let s = 1; s < 4; s++) {
    for (let i = 0; i < 256; i++)
      t[s * 256 + i] = (t[(s - 1) * 256 + i]! >>> 8) ^ t[t[(s - 1) * 256 + i]! & 255]!;
  }
  return t;
})();

function wordL(w: number): number {
  return (
    WORD[768 + (w & 255)]! ^
    WORD[512 + ((w >>> 8) & 255)]! ^
    WORD[256 + ((w >>> 16) & 255)]! ^
    WORD[w >>> 24]!
  );
}

function u32(b: Uint8Array, p: number): number {
  return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
}

/** Per record length: the tables a frame of that length needs. A bounded cache, then direct math. */
class LengthCache<T> {
  readonly #entries = new Map<number, T>();
  constructor(
    readonly make: (length: number) => T,
    readonly limit = 256,
  ) {}
  get(length: number): T {
    let entry = this.#entries.get(length);
    if (entry === undefined) {
      entry = this.make(length);
      if (this.#entries.size < this.limit) this.#entries.set(length, entry);
    }
    return entry;
  }
}

const X32 = timesTable(x8n(4));

/** One CRC-32 pass, over a whole chunk. */
export type CrcPass = (bytes: Uint8Array) => number;

const v1Lengths = new LengthCache((r: number) => ({
  record: timesTable(x8n(r)),
  frame: timesTable(x8n(8 + r)),
  zeros: zeros(4 + r),
}));

/**
 * Today's frames: `length u32 | crc u32 | record`, the CRC over the length
 * bytes then the record. True when `bytes[start, end)` is whole frames whose
 * CRCs all hold (up to the 2^-32 chance any CRC has); false otherwise.
 */
export function checkFramesV1(
  bytes: Uint8Array,
  start: number,
  end: number,
  pass: CrcPass = zlib.crc32,
): boolean {
  let acc = 0;
  let lastLength = -1;
  let tables = v1Lengths.get(0);
  for (let p = start; p < end; ) {
    if (p + 8 > end) return false;
    const r = u32(bytes, p);
    if (r > end - p - 8) return false;
    if (r !== lastLength) {
      tables = v1Lengths.get(r);
      lastLength = r;
    }
    // L(length | record) = stored ^ Z(4 + r), and it is L(length) x^8r ^ L(record).
    const lengthPart = times(tables.record, wordL(u32(bytes, p)));
    const stored = u32(bytes, p + 4);
    const frame =
      times(X32, lengthPart) ^
      times(tables.record, wordL(stored)) ^
      stored ^
      tables.zeros ^
      lengthPart;
    acc = times(tables.frame, acc) ^ frame;
    p += 8 + r;
  }
  return pass(bytes.subarray(start, end)) === (acc ^ zeros(end - start)) >>> 0;
}

/** crc32 of any message followed by its own CRC, little-endian. */
export const CRC32_RESIDUE = 0x2144df1c;

const trailerLengths = new LengthCache((r: number) => ({
  frame: timesTable(x8n(8 + r)),
  constant: (CRC32_RESIDUE ^ zeros(8 + r)) >>> 0,
}));

/**
 * A layout format v2 could choose: `length u32 | payload | crc u32`, the CRC
 * over length and payload, stored little-endian after them. Every intact
 * frame then has the same CRC (the residue), so the chunk's expected CRC
 * depends on the lengths alone: one table product per frame.
 */
export function checkFramesTrailer(
  bytes: Uint8Array,
  start: number,
  end: number,
  pass: CrcPass = zlib.crc32,
): boolean {
  let acc = 0;
  let lastLength = -1;
  let tables = trailerLengths.get(0);
  for (let p = start; p < end; ) {
    if (p + 8 > end) return false;
    const r = u32(bytes, p);
    if (r > end - p - 8) return false;
    if (r !== lastLength) {
      tables = trailerLengths.get(r);
      lastLength = r;
    }
    acc = times(tables.frame, acc) ^ tables.constant;
    p += 8 + r;
  }
  return pass(bytes.subarray(start, end)) === (acc ^ zeros(end - start)) >>> 0;
}
