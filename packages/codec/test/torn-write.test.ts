import { encodeRecord, looksTorn, SECTOR_SIZE } from '@wal/codec';
import { describe, expect, test } from 'vitest';
import { put } from './helpers.js';

const MAX = 1 << 20;
// A 1,208-byte frame: at file offset 500 it spans sectors 0, 1 and 2.
const frame = encodeRecord(0, [put('key', 'v'.repeat(1200 - 13 - 5 - 3 - 4))]);

function zeroed(from: number, to: number): Uint8Array {
  const copy = new Uint8Array(frame);
  copy.fill(0, from, to);
  return copy;
}

describe('looksTorn', () => {
  test('the intact frame and a bit flip in it do not look torn', () => {
    expect(frame.length).toBe(1208);
    expect(looksTorn(frame, 500, MAX)).toBe(false);
    const flipped = new Uint8Array(frame);
    flipped[700] = (flipped[700] as number) ^ 1;
    expect(looksTorn(flipped, 500, MAX)).toBe(false);
  });

  test('a zero frame header looks torn', () => {
    expect(looksTorn(zeroed(0, 8), 500, MAX)).toBe(true);
    expect(looksTorn(new Uint8Array(8), 3, MAX)).toBe(true);
  });

  test('a whole zero sector inside the frame looks torn', () => {
    // File offsets 1024..1536 are frame bytes 524..1036.
    expect(looksTorn(zeroed(524, 1036), 500, MAX)).toBe(true);
  });

  test('a zero run from a sector boundary to the frame end looks torn', () => {
    // File offsets 1536..1708 are frame bytes 1036..1208, the frame's last.
    expect(looksTorn(zeroed(1036, 1208), 500, MAX)).toBe(true);
  });

  test('zeros from the frame start to the first sector boundary look torn', () => {
    // Regression: a frame at 508 whose bytes 508..511 (the unsynced end of
    // sector 0) were lost. Its length reads 0 but its CRC survived.
    const atEnd = zeroed(0, 4);
    expect(looksTorn(atEnd, 508, MAX)).toBe(true);
    expect(looksTorn(atEnd, 500, MAX)).toBe(false);
    // At 506 the boundary is 6 bytes in: zeros must reach it.
    expect(looksTorn(zeroed(0, 6), 506, MAX)).toBe(true);
    expect(looksTorn(zeroed(0, 5), 506, MAX)).toBe(false);
  });

  test('a zero run that is not sector-aligned does not', () => {
    expect(looksTorn(zeroed(530, 1036), 500, MAX)).toBe(false);
    expect(looksTorn(zeroed(524, 1030), 500, MAX)).toBe(false);
  });

  test('alignment is by file offset, not frame offset', () => {
    expect(looksTorn(zeroed(SECTOR_SIZE, 2 * SECTOR_SIZE), 0, MAX)).toBe(true);
    expect(looksTorn(zeroed(SECTOR_SIZE, 2 * SECTOR_SIZE), 500, MAX)).toBe(false);
  });

  test('zeros past the announced record length do not count', () => {
    const withZeros = new Uint8Array([...frame, ...new Uint8Array(2 * SECTOR_SIZE)]);
    expect(looksTorn(withZeros, 500, MAX)).toBe(false);
  });

  test('with an implausible length the whole input counts as the frame', () => {
    const bad = new Uint8Array([0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, ...new Uint8Array(600)]);
    expect(looksTorn(bad, 0, MAX)).toBe(true);
    expect(looksTorn(bad.subarray(0, 100), 0, MAX)).toBe(false);
  });

  test('a frame cut short by the end of the file is checked up to what is there', () => {
    expect(looksTorn(zeroed(524, 1036).subarray(0, 600), 500, MAX)).toBe(true);
    expect(looksTorn(frame.subarray(0, 4), 500, MAX)).toBe(false);
  });
});
