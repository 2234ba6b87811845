import { Wal } from '@wal/fs';
import { SimFs } from '@wal/fs/testing';
import { describe, expect, test } from 'vitest';
import { freshFs, LOG_DIR, recoverEntries, reopenAndCheck, walOptions } from './support/check.js';
import { History } from './support/history.js';

// Each test here is a bug the harness found, and fails on the code before its fix.

describe('regressions', () => {
  test('a torn sector that zeroes only the first bytes of a frame header is a torn tail', async () => {
    const fs = freshFs(new SimFs());
    const wal = await Wal.open(walOptions(fs));
    // Header 32 + frame 31 + 445 bytes of value: the next frame starts at 508,
    // so its 8-byte header straddles the sector boundary at 512.
    await wal.put('a', new Uint8Array(445).fill(1));
    let crashed: SimFs | undefined;
    fs.onOperation = (event) => {
      if (event.op !== 'write' || crashed) return;
      // Power loss before the fdatasync: the sector holding bytes 508..511
      // never reached the disk (zeros); the next sectors did.
      const ino = fs.inode(`${LOG_DIR}/wal_00000000.log`);
      crashed = fs.crash({ files: new Map([[ino, { kind: 'torn', length: 606, sector: 0 }]]) });
    };
    await Promise.all([wal.put('b', new Uint8Array(40).fill(2)), wal.delete('a')]);
    await wal.close();
    const after = crashed as SimFs;
    const header = after.readFile(`${LOG_DIR}/wal_00000000.log`).subarray(508, 516);
    expect([...header.subarray(0, 4)]).toEqual([0, 0, 0, 0]);
    expect(header.subarray(4).some((b) => b !== 0)).toBe(true);
    expect((await recoverEntries(after)).map((e) => e.sequence)).toEqual([0]);
    const reopened = await Wal.open(walOptions(after));
    expect(reopened.nextSequence).toBe(1);
    await reopened.close();
  });

  test('a log directory created by Wal.open survives power loss once a put is acknowledged', async () => {
    const fs = new SimFs();
    fs.mkdirp('/data');
    fs.syncAll();
    // Wal.open creates /data/db; its entry in /data is durable only once
    // /data is fsynced.
    const wal = await Wal.open({ ...walOptions(fs), dir: '/data/db' });
    await wal.put('k', 'v');
    const after = fs.crash();
    await wal.close();
    expect(after.readdir('/data')).toEqual(['db']);
  });

  test('after a failed fdatasync and a reopen, later acknowledged appends survive power loss', async () => {
    const fs = freshFs(new SimFs());
    const first = await Wal.open(walOptions(fs));
    await first.put('a', '1');
    // The kernel drops the dirty pages of a failed fdatasync and marks them
    // clean (fsyncgate): 'b' stays readable until power loss, never durable.
    fs.inject({ ops: ['fdatasync'] });
    await expect(first.put('b', '2')).rejects.toMatchObject({ code: 'WAL_IO_ERROR' });
    await first.close();
    const second = await Wal.open(walOptions(fs));
    const acknowledged = await second.put('c', '3');
    const after = fs.crash();
    await second.close();
    const keys = (await recoverEntries(after)).map((e) => Buffer.from(e.key).toString());
    expect(keys).toContain('c');
    expect(acknowledged).toBeGreaterThan(0);
  });

  test('a power loss during truncateBefore never leaves a log that cannot be opened', async () => {
    const fs = freshFs(new SimFs());
    const history = new History();
    const wal = await Wal.open(walOptions(fs));
    for (let i = 0; i < 4; i++) {
      await history.append(wal, [{ type: 'put', key: `k${i}`, value: 'v' }], 'put');
      await wal.rotate();
    }
    // Every state a crash between the unlinks and the directory fsync can leave.
    const states: SimFs[] = [];
    fs.onOperation = (event) => {
      if (event.mutating) for (const plan of fs.crashPlans()) states.push(fs.crash(plan));
    };
    await wal.truncateBefore(2);
    fs.onOperation = undefined;
    history.truncatedBefore(2);
    await wal.close();
    const problems: string[] = [];
    for (const state of states) {
      await reopenAndCheck(state, history.clone()).then(
        (reopened) => reopened.close(),
        (error: Error) => problems.push(`${state.snapshot().size} files: ${error.message}`),
      );
    }
    expect(states.length).toBeGreaterThan(3);
    expect(problems).toEqual([]);
  });
});
