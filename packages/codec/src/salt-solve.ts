import { readU32, writeU32 } from './bytes.js';
import {
  FRAME_CRC_OFFSET,
  FRAME_HEADER_SIZE,
  FRAME_LENGTH_OFFSET,
  HEADER_CRC_OFFSET,
  HEADER_SALT_OFFSET,
  SALT_SIZE,
} from './constants.js';
import { crc32 } from './crc32.js';

/**
 * The salt under which the intact frame at `buf[start..end)` validates, for
 * a segment whose header (and so whose salt) is damaged. CRC-32 is affine
 * over GF(2), so the 32 salt bits follow from the stored CRC by solving a
 * 32x32 linear system: 33 CRCs of the frame. The solution is unique, so any
 * frame "validates" under some salt; a caller confirms it on other frames.
 */
export function solveFrameSalt(buf: Uint8Array, start: number, end: number): number {
  // What the CRC covers: salt, length field, record.
  const lengthField = buf.subarray(start + FRAME_LENGTH_OFFSET, start + FRAME_CRC_OFFSET);
  const record = buf.subarray(start + FRAME_HEADER_SIZE, end);
  const message = new Uint8Array(SALT_SIZE + lengthField.length + record.length);
  message.set(lengthField, SALT_SIZE);
  message.set(record, SALT_SIZE + lengthField.length);
  return solveSalt(message, 0, readU32(buf, start + FRAME_CRC_OFFSET));
}

/**
 * The salt that makes the segment header at the start of `buf` valid, every
 * other field (and the stored CRC) taken as it is: for a header whose salt
 * field alone is damaged. Unique, as for {@link solveFrameSalt}, so any
 * header holds under some salt; a caller confirms it on a frame.
 */
export function solveHeaderSalt(buf: Uint8Array): number {
  const message = buf.slice(0, HEADER_CRC_OFFSET);
  return solveSalt(message, HEADER_SALT_OFFSET, readU32(buf, HEADER_CRC_OFFSET));
}

// The u32 at `message[offset..offset+4)` that makes crc32(message) equal
// `crc` (`message` is used as scratch). The salt-to-CRC map is s(x)·x^k mod
// P, invertible as P's constant term is 1, so all 32 pivots are found.
function solveSalt(message: Uint8Array, offset: number, crc: number): number {
  const at = (salt: number): number => {
    writeU32(message, offset, salt);
    return crc32(message);
  };
  const base = at(0);
  // pivots[b]: a combination of salt bits whose CRC change has highest bit b.
  const vectors = new Array<number>(32).fill(0);
  const combos = new Array<number>(32).fill(0);
  for (let i = 0; i < 32; i++) {
    let v = (at((1 << i) >>> 0) ^ base) >>> 0;
    let c = (1 << i) >>> 0;
    for (let b = 31; b >= 0 && v !== 0; b--) {
      if (((v >>> b) & 1) === 0) continue;
      if (vectors[b] === 0) {
        vectors[b] = v;
        combos[b] = c;
        v = 0;
      } else {
        v = (v ^ (vectors[b] as number)) >>> 0;
        c = (c ^ (combos[b] as number)) >>> 0;
      }
    }
  }
  let target = (crc ^ base) >>> 0;
  let salt = 0;
  for (let b = 31; b >= 0 && target !== 0; b--) {
    if (((target >>> b) & 1) === 0) continue;
    target = (target ^ (vectors[b] as number)) >>> 0;
    salt = (salt ^ (combos[b] as number)) >>> 0;
  }
  return salt;
}
