// Repair of a last segment whose salt byte and first frame's length are both rotted: no frame boundary to solve a salt from, so the salt comes from the header's own CRC.
import { HEADER_SALT_OFFSET } from '@wal/codec';
import { recover, repair } from '@wal/recovery';
import { describe, expect, test } from 'vitest';
import { flip, plain, puts, SEGMENT_HEADER_SIZE, simLog } from './helpers.js';

describe('salt solved from the header CRC', () => {
  test('a rotted salt byte and first frame length in the last segment: record 4 kept, 3 lost, no sequence re-issued', async () => {
    const { sim, log } = await simLog([1, 1, 1, 2].map((n, i) => puts(n, 8, `s${i}k`)));
    const s3 = log.segments[3];
    if (!s3) throw new Error('fixture');
    sim.writeFile(s3.file, flip(flip(s3.bytes, HEADER_SALT_OFFSET, 1), SEGMENT_HEADER_SIZE, 1));
    const done = await repair('/wal', { fs: sim });
    expect(done.lost).toEqual([{ firstSequence: 3, nextSequence: 4 }]);
    expect(done.nextSequence).toBeGreaterThanOrEqual(5);
    const r = await recover('/wal', { fs: sim, mode: 'strict' });
    expect(r.entries.map(plain).map((e) => e.sequence)).toEqual([0, 1, 2, 4]);
    expect(r.nextSequence).toBe(5);
  });
});
