// The cross-process tail wakes on fs.watch events: one that comes while the
// tail is reading (not yet asleep) must not be lost, or the tail sleeps
// until its next poll with entries waiting.
import path from 'node:path';
import { Wal } from '@wal/fs';
import { tailLog } from '@wal/recovery';
import { expect, test } from 'vitest';
import { tempDir } from './helpers.js';

test('no change event is lost while the tail reads: with an hour between polls, every append arrives', async () => {
  for (let round = 0; round < 40; round++) {
    const dir = path.join(tempDir(), `wal-${round}`);
    const wal = await Wal.open({ dir });
    const tail = tailLog(dir, { pollIntervalMs: 3_600_000 });
    const entries = tail[Symbol.asyncIterator]();
    try {
      // Appends race the tail's reads; the last one vouches for the one before.
      const appends = 50 + round * 7;
      const writing = (async () => {
        for (let i = 0; i < appends; i++) await wal.put(`k${i}`, 'v');
      })();
      // Awaited below; if the tail fails first, close() ends it.
      writing.catch(() => undefined);
      for (let i = 0; i < appends - 1; i++) {
        expect((await entries.next()).value?.sequence).toBe(i);
      }
      await writing;
    } finally {
      await tail.close();
      await wal.close();
    }
  }
}, 60_000);
