import { Wal } from '@wal/fs';
import { SimFs } from '@wal/fs/testing';
import { describe, expect, test } from 'vitest';
import { freshFs, recoverEntries, walOptions } from './support/check.js';

// What a resolved append promises in each sync mode, as docs/reliability.md
// states it: after a process kill (the OS keeps its page cache) and after
// the worst power loss (only what was made durable is left).

async function afterPut(sync: 'always' | 'interval' | 'none', wait = 0) {
  const fs = freshFs(new SimFs());
  const wal = await Wal.open(walOptions(fs, { sync, syncIntervalMs: 5 }));
  await wal.put('k', 'v');
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  // A kill: the process is gone, the page cache is not. A power loss: only durable bytes.
  const killed = fs.kill();
  const powerLoss = fs.crash();
  const synced = async () => {
    await wal.sync();
    return fs.crash();
  };
  return {
    killed: (await recoverEntries(killed)).length,
    powerLoss: (await recoverEntries(powerLoss)).length,
    afterSync: (await recoverEntries(await synced())).length,
    close: () => wal.close(),
  };
}

describe('durability of a resolved append, per sync mode', () => {
  test("'always': survives a kill and a power loss", async () => {
    const r = await afterPut('always');
    expect([r.killed, r.powerLoss]).toEqual([1, 1]);
    await r.close();
  });

  test("'none': survives a kill, may be lost on power loss until sync() resolves", async () => {
    const r = await afterPut('none');
    expect([r.killed, r.powerLoss, r.afterSync]).toEqual([1, 0, 1]);
    await r.close();
  });

  test("'interval': may be lost on power loss until the interval's sync has run", async () => {
    const early = await afterPut('interval');
    expect([early.killed, early.powerLoss]).toEqual([1, 0]);
    await early.close();
    const late = await afterPut('interval', 50);
    expect(late.powerLoss).toBe(1);
    await late.close();
  });
});
