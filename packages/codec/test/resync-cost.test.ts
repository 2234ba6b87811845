// The resync scan must not checksum a damaged region once per offset: count
// the bytes that go through CRC-32 while decoding past garbage whose every
// fourth offset reads as a plausible 64 KiB frame.
import { decodeAll, encodeRecord, findNextFrame } from '@wal/codec';
import { beforeEach, describe, expect, test, vi } from 'vitest';
import { concat, put } from './helpers.js';

const counted = vi.hoisted(() => ({ bytes: 0 }));

vi.mock('../src/crc32.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../src/crc32.js')>();
  return {
    ...real,
    crc32: (data: Uint8Array, seed?: number) => {
      counted.bytes += data.length;
      return real.crc32(data, seed);
    },
  };
});

const garbage = new Uint8Array(16 * 1024).map((_, i) => [0, 0, 1, 0][i % 4] as number);
const frames = concat(
  ...Array.from({ length: 80 }, (_, i) => encodeRecord(i, [put('k', 'v'.repeat(1000))])),
);
const input = concat(garbage, frames);

describe('resync cost', () => {
  beforeEach(() => {
    counted.bytes = 0;
  });

  test('the CRC count sees the decoder: every frame byte but the CRC field, once', () => {
    decodeAll(frames);
    expect(counted.bytes).toBe(frames.length - 80 * 4);
  });

  test('skipping 16 KiB of plausible-looking garbage checksums about the input once', () => {
    const results = decodeAll(input, { maxRecordBytes: 1 << 20 });
    expect(results[0]).toMatchObject({ kind: 'damage', offset: 0, bytes: garbage.length });
    expect(results.filter((r) => r.kind === 'record')).toHaveLength(80);
    // One CRC per offset would be about 4096 x 64 KiB = 256 MiB.
    expect(counted.bytes).toBeLessThan(2 * input.length);
  });

  test('findNextFrame likewise', () => {
    expect(findNextFrame(input, 0, input.length, 1 << 20)).toBe(garbage.length);
    expect(counted.bytes).toBeLessThan(2 * input.length);
  });
});
