// Repair's header salvage next to a later segment: frames that end exactly where a later valid header starts are this segment's, kept (the overlap check is strict).
import { HEADER_SALT_OFFSET } from '@wal/codec';
import { recover, repair } from '@wal/recovery';
import { describe, expect, test } from 'vitest';
import { type BuiltLog, flip, plain, puts, simLog } from './helpers.js';

describe('salvage next to a later segment', () => {
  test.each([
    ['the next segment present', false],
    ['the next segment deleted (a later one holds the start)', true],
  ])(
    'a damaged header (magic and salt) over frames ending exactly where a later segment starts: kept, %s',
    async (_name, deleteNext) => {
      const { sim, log } = await simLog([puts(2), puts(2), puts(2), puts(2)]);
      const [, s1, s2] = log.segments as BuiltLog['segments'];
      if (!s1 || !s2) throw new Error('fixture');
      sim.writeFile(s1.file, flip(flip(s1.bytes, 0), HEADER_SALT_OFFSET, 0x20));
      if (deleteNext) await sim.unlink(s2.file);
      const done = await repair('/wal', { fs: sim });
      const r = await recover('/wal', { fs: sim, mode: 'strict' });
      const kept = r.entries.map(plain).map((e) => e.sequence);
      expect(kept.filter((n) => n < 4)).toEqual([0, 1, 2, 3]);
      expect(done.lost).toEqual(deleteNext ? [{ firstSequence: 4, nextSequence: 6 }] : []);
    },
  );
});
