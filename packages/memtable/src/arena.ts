/**
 * Append-only storage for a table's values, as LevelDB's memtable arena:
 * bytes are copied into large slabs, and the tree holds one number per key
 * (its location here) instead of one Uint8Array per value. That removes an
 * object per entry for the garbage collector to trace and move.
 *
 * A location is `slab * SLAB_SPAN + offset`; at the offset a LEB128 length
 * precedes the value bytes. Slabs grow from 16 KiB to 1 MiB, so a small
 * table stays small. A value over a quarter of the largest slab gets a slab
 * of its own, so the unused tail a slab is left with is shorter than the
 * value that did not fit in it, and under 256 KiB.
 *
 * Nothing written is ever rewritten or reused: a view handed out stays valid
 * for as long as it is held, even after the table is cleared (the view then
 * keeps its slab alive, not the table).
 */

/** Address space per slab: a slab holds at most this many bytes, except one made for a single value. */
const SLAB_SPAN = 1 << 20;
const FIRST_SLAB_BYTES = 16 * 1024;
/** Values above this get a slab of their own. */
const OWN_SLAB_BYTES = SLAB_SPAN / 4;
/** Up to this length a byte loop copies faster than `TypedArray.prototype.set` (measured: 19 ns against 35 ns at 8 bytes). */
const LOOP_COPY_BYTES = 8;

export const EMPTY = new Uint8Array(0);

export class Arena {
  readonly #slabs: Uint8Array[] = [];
  /** The slab small values go to, and its index in `#slabs`. */
  #slab: Uint8Array = EMPTY;
  #current = -1;
  /** Write position in `#slab`. */
  #used = 0;

  /** Copies `bytes` in; returns their location. */
  append(bytes: Uint8Array): number {
    const length = bytes.length;
    const needed = length + (length < 0x80 ? 1 : lengthBytes(length));
    if (needed > OWN_SLAB_BYTES) {
      const own = new Uint8Array(needed);
      own.set(bytes, writeLength(own, 0, length));
      return (this.#slabs.push(own) - 1) * SLAB_SPAN;
    }
    if (this.#used + needed > this.#slab.length) this.#nextSlab(needed);
    const slab = this.#slab;
    const at = this.#used;
    let p = writeLength(slab, at, length);
    if (length <= LOOP_COPY_BYTES) {
      for (let i = 0; i < length; i++) slab[p++] = bytes[i] as number;
    } else {
      slab.set(bytes, p);
      p += length;
    }
    this.#used = p;
    return this.#current * SLAB_SPAN + at;
  }

  /** A view of the bytes stored at `location`. */
  view(location: number): Uint8Array {
    const index = Math.floor(location / SLAB_SPAN);
    const slab = this.#slabs[index] as Uint8Array;
    let p = location - index * SLAB_SPAN;
    let byte = slab[p++] as number;
    let length = byte & 0x7f;
    for (let scale = 0x80; byte >= 0x80; scale *= 0x80) {
      byte = slab[p++] as number;
      length += (byte & 0x7f) * scale;
    }
    return length === 0 ? EMPTY : new Uint8Array(slab.buffer, slab.byteOffset + p, length);
  }

  /** The length of the bytes stored at `location`. */
  lengthAt(location: number): number {
    const index = Math.floor(location / SLAB_SPAN);
    const slab = this.#slabs[index] as Uint8Array;
    let p = location - index * SLAB_SPAN;
    let byte = slab[p++] as number;
    let length = byte & 0x7f;
    for (let scale = 0x80; byte >= 0x80; scale *= 0x80) {
      byte = slab[p++] as number;
      length += (byte & 0x7f) * scale;
    }
    return length;
  }

  /**
   * Takes over `other`'s slabs, leaving it empty, and returns what to add to
   * each of `other`'s locations to make it a location here.
   */
  adopt(other: Arena): number {
    const shift = this.#slabs.length * SLAB_SPAN;
    for (const slab of other.#slabs) this.#slabs.push(slab);
    other.#slabs.length = 0;
    other.#slab = EMPTY;
    other.#current = -1;
    other.#used = 0;
    return shift;
  }

  /** Starts a slab with room for at least `needed` bytes (at most OWN_SLAB_BYTES). */
  #nextSlab(needed: number): void {
    this.#slab = new Uint8Array(
      Math.min(SLAB_SPAN, Math.max(FIRST_SLAB_BYTES, this.#slab.length * 2, needed)),
    );
    this.#current = this.#slabs.push(this.#slab) - 1;
    this.#used = 0;
  }
}

/** Writes `length` as LEB128 at `at`; returns the position after it. */
function writeLength(slab: Uint8Array, at: number, length: number): number {
  let p = at;
  let n = length;
  while (n >= 0x80) {
    slab[p++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  slab[p++] = n;
  return p;
}

/** Bytes of `length` as LEB128. */
function lengthBytes(length: number): number {
  let n = 1;
  for (let v = length; v >= 0x80; v = Math.floor(v / 0x80)) n++;
  return n;
}
