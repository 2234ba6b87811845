// The free-space rule every reader shares (isFreeSpace), and zeroRunEnd,
// which finds the region it judges for readers that decode frame by frame.
import { zeroRunEnd } from '@wal/fs/internal';
import { SimFs } from '@wal/fs/testing';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { isFreeSpace } from '../src/segments/free-space.js';

describe('isFreeSpace', () => {
  test('zeros to the end of the last segment only', () => {
    const zeros = { reason: 'zero-fill', offset: 100, bytes: 50 } as const;
    expect(isFreeSpace(zeros, 150, true)).toBe(true);
    expect(isFreeSpace(zeros, 150, false)).toBe(false); // a segment with a next one
    expect(isFreeSpace(zeros, 151, true)).toBe(false); // data after the zeros
    expect(isFreeSpace({ ...zeros, reason: 'bad-length' }, 150, true)).toBe(false);
  });
});

describe('zeroRunEnd', () => {
  test('property: the first non-zero byte at or after the offset, else the size', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat(100),
        fc.nat(200_000),
        fc.option(fc.integer({ min: 1, max: 255 }), { nil: undefined }),
        fc.nat(1000),
        async (offset, zeros, data, extra) => {
          const sim = new SimFs();
          const length = offset + zeros + (data === undefined ? 0 : 1) + extra;
          const bytes = new Uint8Array(length).fill(7, 0, offset);
          if (data !== undefined) bytes.fill(data, offset + zeros);
          sim.writeFile('/f', bytes);
          const fd = await sim.open('/f', 'r');
          const end = await zeroRunEnd(sim, fd, '/f', offset, length);
          await sim.close(fd);
          expect(end).toBe(data === undefined ? length : offset + zeros);
        },
      ),
      { numRuns: 60 },
    );
  });

  test('stops where the file ends when it was cut since the size was taken', async () => {
    const sim = new SimFs();
    sim.writeFile('/f', new Uint8Array(1000));
    const fd = await sim.open('/f', 'r');
    expect(await zeroRunEnd(sim, fd, '/f', 10, 5000)).toBe(1000);
    await sim.close(fd);
  });
});
