import { type SyncMode, Wal } from '@wal/fs';
import { SimFs } from '@wal/fs/testing';
import { describe, expect, test } from 'vitest';
import { freshFs, recoverEntries, walOptions } from './support/check.js';

// What a resolved append promises in each sync mode, as docs/reliability.md
// states it: after a process kill (the OS keeps its page cache) and after
// the worst power loss (only what was made durable is left).

async function afterPut(sync: SyncMode, wait = 0) {
  const fs = await freshFs(new SimFs());
  const wal = await Wal.open(walOptions(fs, { sync, syncIntervalMs: 5 }));
  await wal.put('k', 'v');
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  // A kill: the process is gone, the page cache is not (until a power loss).
  const killed = fs.kill();
  const powerLoss = fs.crash();
  const synced = async () => {
    await wal.sync();
    return fs.crash();
  };
  // The next process opens the log, and only then the power fails.
  const reopened = async () => {
    const next = await Wal.open(walOptions(killed, { sync }));
    const after = killed.crash();
    await next.close();
    return after;
  };
  return {
    killed: (await recoverEntries(killed)).length,
    killThenPowerLoss: (await recoverEntries(killed.crash())).length,
    powerLoss: (await recoverEntries(powerLoss)).length,
    afterReopen: (await recoverEntries(await reopened())).length,
    afterSync: (await recoverEntries(await synced())).length,
    close: () => wal.close(),
  };
}

describe('durability of a resolved append, per sync mode', () => {
  test("'always': survives a kill and a power loss", async () => {
    const r = await afterPut('always');
    expect([r.killed, r.killThenPowerLoss, r.powerLoss]).toEqual([1, 1, 1]);
    await r.close();
  });

  test("'none': survives a kill, may be lost on power loss until sync() resolves", async () => {
    const r = await afterPut('none');
    expect([r.killed, r.killThenPowerLoss, r.powerLoss, r.afterSync]).toEqual([1, 0, 0, 1]);
    await r.close();
  });

  test("'interval': may be lost on power loss until the interval's sync has run", async () => {
    const early = await afterPut('interval');
    expect([early.killed, early.killThenPowerLoss, early.powerLoss]).toEqual([1, 0, 0]);
    await early.close();
    const late = await afterPut('interval', 50);
    expect(late.powerLoss).toBe(1);
    await late.close();
  });

  // The reopen recovers what the killed writer left in the page cache and
  // must make it durable before it acknowledges anything.
  test.each(['always', 'interval', 'none'] as const)(
    "'%s': after a kill, what the next writer's open found survives a power loss",
    async (sync) => {
      const r = await afterPut(sync);
      expect(r.afterReopen).toBe(1);
      await r.close();
    },
  );
});
