// A checkpoint survives a power loss only if the log held its entries
// durably when it was persisted: otherwise the log can lose them, the writer
// issues their sequences again, and a replay from the checkpoint skips the
// new entries as ones it holds. Two ways to get there, in every sync mode.
import { type SyncMode, Wal } from '@wal/fs';
import { SimFs } from '@wal/fs/testing';
import { Memtable, replay } from '@wal/memtable';
import { text, utf8 } from '@wal/test-support';
import { describe, expect, test } from 'vitest';

const MODES: SyncMode[] = ['always', 'interval', 'none'];

async function afterPowerLoss(sim: SimFs, checkpoint: Memtable) {
  const crashed = sim.crash();
  const wal = await Wal.open({ dir: '/wal', fs: crashed });
  const sequence = await wal.put('after', 'x');
  await wal.close();
  const restored = new Memtable({
    lastSequence: checkpoint.lastSequence,
    logId: checkpoint.logId,
    incident: checkpoint.incident,
  });
  const { applied } = await replay('/wal', restored, { fs: crashed });
  return { sequence, applied, restored };
}

describe.each(MODES)("sync '%s'", (sync) => {
  test('a live table checkpointed once durableSequence passed its lastSequence', async () => {
    const sim = new SimFs();
    const wal = await Wal.open({ dir: '/wal', fs: sim, sync, syncIntervalMs: 1 });
    const table = new Memtable({ logId: wal.logId });
    for (let i = 0; i < 9; i++) {
      const sequence = await wal.put(`k${i}`, `v${i}`);
      table.apply({ sequence, type: 'put', key: utf8(`k${i}`), value: utf8(`v${i}`) });
    }
    await wal.sync();
    expect(wal.durableSequence).toBeGreaterThan(table.lastSequence as number);
    const checkpoint = new Memtable({ lastSequence: table.lastSequence, logId: table.logId });
    // Unsynced puts after it may be lost; the checkpoint's may not.
    const pending = [wal.put('k9', 'v9'), wal.put('k10', 'v10')];
    const { sequence, applied, restored } = await afterPowerLoss(sim, checkpoint);
    expect(sequence).toBeGreaterThan(8);
    expect(applied).toBe(sequence - 8);
    expect(text(restored.get('after') as Uint8Array)).toBe('x');
    await wal.close();
    await Promise.allSettled(pending);
  });

  test('a checkpoint of a replay made after Wal.open, in the process after a kill', async () => {
    const sim = new SimFs();
    const wal = await Wal.open({ dir: '/wal', fs: sim, sync, syncIntervalMs: 1 });
    await Promise.all(Array.from({ length: 9 }, (_, i) => wal.put(`k${i}`, `v${i}`)));
    // Killed: what it wrote is in the page cache, durable or not.
    const next = sim.kill();
    const reopened = await Wal.open({ dir: '/wal', fs: next, sync });
    const table = new Memtable();
    await replay('/wal', table, { fs: next });
    expect(table.lastSequence).toBe(8);
    expect(reopened.durableSequence).toBe(9);
    const { sequence, applied, restored } = await afterPowerLoss(next, table);
    expect([sequence, applied]).toEqual([9, 1]);
    expect(text(restored.get('after') as Uint8Array)).toBe('x');
    await reopened.close();
  });
});
