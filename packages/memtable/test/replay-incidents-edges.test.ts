// Edges of replay's incident check, from a review of it: a log restored from
// its archive (no quarantine), a repair racing the replay, a repair that
// died after its manifest, and manifests that are not objects.
import fs from 'node:fs';
import path from 'node:path';
import { nodeFs, WAL_FS_METHODS, Wal, type WalFs } from '@wal/fs';
import { SimFs } from '@wal/fs/testing';
import { Memtable, replay } from '@wal/memtable';
import { archiveLog, directoryTarget, listIncidents, repair, restoreLog } from '@wal/recovery';
import { tempDir, wrapMethods } from '@wal/test-support';
import { expect, test } from 'vitest';
import { nineEntries, text, unreadable } from './floor-repair.js';

test('a log restored from its archive after a floor repair below the checkpoint is refused, not replayed past the re-issued sequences', async () => {
  // restoreLog writes only segments: the quarantine folder (the manifest)
  // stays behind, though the rebuilt segment's hole record names incident 1.
  const root = tempDir();
  const dir = path.join(root, 'wal');
  const first = await Wal.open({ dir, fs: nodeFs });
  const last = await nineEntries(first);
  await first.close();
  const checkpoint = new Memtable();
  await replay(dir, checkpoint, { fs: nodeFs });
  expect(checkpoint.lastSequence).toBe(8);
  fs.writeFileSync(last, unreadable(fs.readFileSync(last)));
  await repair(dir, { floor: 6 });
  const target = directoryTarget(path.join(root, 'archive'));
  const wal = await Wal.open({ dir, fs: nodeFs });
  const archiver = archiveLog({ wal, target });
  for (let i = 6; i <= 10; i++) expect(await wal.put(`after${i}`, `x${i}`)).toBe(i);
  await wal.rotate();
  await archiver.idle();
  await wal.close();
  await archiver.done;
  // The live directory refuses, as 41a105c made it.
  const live = new Memtable({ lastSequence: 8, logId: checkpoint.logId });
  await expect(replay(dir, live, { fs: nodeFs })).rejects.toMatchObject({
    code: 'WAL_SEQUENCE_REWOUND',
  });
  const restoredDir = path.join(root, 'restored');
  await restoreLog({ target, dir: restoredDir });
  const restored = new Memtable({ lastSequence: 8, logId: checkpoint.logId });
  // The restored log still says so: its hole record names incident 1.
  const fresh = new Memtable();
  const all = await replay(restoredDir, fresh, { fs: nodeFs });
  expect(all.stats.holes).toMatchObject([{ nextSequence: 6, incident: 1 }]);
  // It replayed past the hole, so it has seen incident 1.
  expect(fresh.incident).toBe(1);
  const outcome = await replay(restoredDir, restored, { fs: nodeFs }).then(
    (r) => ({ applied: r.applied, after6: text(restored.get('after6')) }),
    (e: { code?: string }) => e.code,
  );
  // Before the hole rule: { applied: 2, after6: undefined }, after6..after8 skipped silently.
  expect(outcome).toBe('WAL_SEQUENCE_REWOUND');
});

test('a floor repair made while replay was reading the log is not taken as seen', async () => {
  // The repair runs after the scan, as replay lists the incidents to check
  // them (its second listing; the first is before the scan): none of the
  // table's entries came after it, so table.incident must not count it.
  const sim = new SimFs();
  const first = await Wal.open({ dir: '/wal', fs: sim });
  const last = await nineEntries(first);
  await first.close();
  let listings = 0;
  const racing = wrapMethods(sim as WalFs, WAL_FS_METHODS, async (method, args, call) => {
    if (method === 'readdir' && args[0] === '/wal/quarantine' && ++listings === 2) {
      sim.writeFile(last, unreadable(sim.readFile(last)));
      await repair('/wal', { fs: sim, floor: 9 });
    }
    return call(...args);
  });
  const table = new Memtable({ lastSequence: 4 });
  await replay('/wal', table, { fs: racing });
  expect(listings).toBe(2);
  expect(table.lastSequence).toBe(8);
  // Before: incident 1, so a later floor repair's number could pass as seen.
  expect(table.incident).toBe(null);
});

test('a floor repair that died after its manifest still counts as made: refused until the operator passes its incident', async () => {
  // The first run (floor 6, too low) wrote its manifest, then failed on the
  // rename of the rebuilt segment: the log never continued at 6. The
  // operator runs it again with floor 9; the log continues at 9.
  const sim = new SimFs();
  const first = await Wal.open({ dir: '/wal', fs: sim });
  const last = await nineEntries(first);
  await first.close();
  const checkpoint = new Memtable();
  await replay('/wal', checkpoint, { fs: sim });
  sim.writeFile(last, unreadable(sim.readFile(last)));
  const failing = wrapMethods(sim as WalFs, WAL_FS_METHODS, async (method, args, call) => {
    // The rebuilt segment's rename, not the quarantine copies' (they come before the manifest).
    if (method === 'rename' && /^\/wal\/wal_\d+\.log\.tmp$/.test(String(args[0]))) {
      throw Object.assign(new Error('EIO: rename'), { code: 'EIO' });
    }
    return call(...args);
  });
  await expect(repair('/wal', { fs: failing, floor: 6 })).rejects.toMatchObject({
    code: 'WAL_IO_ERROR',
  });
  expect(await listIncidents('/wal', { fs: sim })).toMatchObject([
    { incident: 1, nextSequence: 6, fromFloor: true },
  ]);
  expect(await repair('/wal', { fs: sim, floor: 9 })).toMatchObject({
    incident: 2,
    nextSequence: 9,
  });
  const wal = await Wal.open({ dir: '/wal', fs: sim });
  expect(await wal.put('after', 'x')).toBe(9);
  await wal.close();
  // Refused: from its manifest alone, a repair that died after writing it
  // may have changed part of the log (and a writer written after it), so
  // it counts as made.
  const error = await replay('/wal', checkpoint, { fs: sim }).catch((e: unknown) => e);
  expect(error).toMatchObject({ code: 'WAL_SEQUENCE_REWOUND' });
  expect((error as Error).message).toContain(
    'found incident 1 (quarantine/1) continuing it from a floor at 6',
  );
  expect(checkpoint.has('after')).toBe(false);
  // An operator who knows it changed nothing passes its incident as seen.
  const known = new Memtable({ lastSequence: 8, logId: checkpoint.logId, incident: 1 });
  expect(await replay('/wal', known, { fs: sim })).toMatchObject({ applied: 1 });
  expect(text(known.get('after'))).toBe('x');
});

test.each([
  ['null', 'null'],
  ['5', '5'],
])('a manifest of %s says what it held, not "found undefined"', async (json, held) => {
  // Incident.unreadable: "what was expected, what the manifest held".
  const sim = new SimFs();
  const first = await Wal.open({ dir: '/wal', fs: sim });
  await first.put('k', 'v');
  await first.close();
  await sim.mkdirp('/wal/quarantine/1');
  sim.writeFile('/wal/quarantine/1/manifest.json', Buffer.from(json));
  const [incident] = await listIncidents('/wal', { fs: sim });
  // Found: "expected logId to be a log id (16 hex digits), found undefined".
  expect(incident?.unreadable).not.toContain('found undefined');
  expect(incident?.unreadable).toContain(held);
});
