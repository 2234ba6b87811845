// The resync scan must not checksum a damaged region once per offset: count
// the bytes that go through CRC-32 while decoding past garbage whose every
// fourth offset reads as a plausible 64 KiB frame.
import { decodeAll, encodeBatchFrame, saltSeed } from '@wal/codec';
import { beforeEach, describe, expect, test, vi } from 'vitest';
import { chunkCuts, concat, decodeSplit, put, SALT } from './helpers.js';

const counted = vi.hoisted(() => ({ bytes: 0 }));

vi.mock('../src/crc32.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../src/crc32.js')>();
  return {
    ...real,
    crc32: (data: Uint8Array, seed?: number) => {
      counted.bytes += data.length;
      return real.crc32(data, seed);
    },
    crc32Range: (data: Uint8Array, seed: number, start: number, end: number) => {
      counted.bytes += end - start;
      return real.crc32Range(data, seed, start, end);
    },
    crc32Zlib: (data: Uint8Array, seed?: number) => {
      counted.bytes += data.length;
      return real.crc32Zlib(data, seed);
    },
  };
});

const garbage = new Uint8Array(16 * 1024).map((_, i) => [0, 0, 1, 0][i % 4] as number);
const frames = concat(
  ...Array.from({ length: 80 }, (_, i) =>
    encodeBatchFrame({ salt: SALT, synced: 48 }, i, [put('k', 'v'.repeat(1000))]),
  ),
);
const input = concat(garbage, frames);
const options = { salt: SALT, firstSequence: 0, maxRecordBytes: 1 << 20 };

describe('resync cost', () => {
  beforeEach(() => {
    // The salt's seed is cached; compute it before counting.
    saltSeed(SALT);
    counted.bytes = 0;
  });

  test('the CRC count sees the decoder: every frame byte once, a window of frames per pass', () => {
    decodeAll(frames, options);
    expect(counted.bytes).toBe(frames.length);
  });

  test('skipping 16 KiB of plausible-looking garbage checksums about the input once', () => {
    const results = decodeAll(input, options);
    expect(results[0]).toMatchObject({ kind: 'damage', offset: 48, bytes: garbage.length });
    expect(results.filter((r) => r.kind === 'frame')).toHaveLength(80);
    // One CRC per offset would be about 4096 x 64 KiB = 256 MiB.
    expect(counted.bytes).toBeLessThan(2 * input.length);
  });

  test('likewise when the garbage arrives in 1 KiB chunks', () => {
    const results = decodeSplit(input, chunkCuts(input.length, 1024), options);
    expect(results.filter((r) => r.kind === 'frame')).toHaveLength(80);
    expect(counted.bytes).toBeLessThan(2 * input.length);
  });
});
