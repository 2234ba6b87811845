// Review of replay's incident check (41a105c): cases where it still loses an
// acknowledged entry silently, or refuses a legitimate replay. Each test
// states the behaviour the docs promise and fails on a5707cf.
import fs from 'node:fs';
import path from 'node:path';
import { HEADER_SALT_OFFSET, SEGMENT_HEADER_SIZE } from '@wal/codec';
import { nodeFs, WAL_FS_METHODS, Wal, type WalFs } from '@wal/fs';
import { SimFs } from '@wal/fs/testing';
import { Memtable, replay } from '@wal/memtable';
import { archiveLog, directoryTarget, listIncidents, repair, restoreLog } from '@wal/recovery';
import { tempDir, wrapMethods } from '@wal/test-support';
import { expect, test } from 'vitest';

const text = (b: Uint8Array | undefined) =>
  b === undefined ? undefined : Buffer.from(b).toString();

function flip(bytes: Uint8Array, at: number, mask = 0x01): Uint8Array {
  const out = bytes.slice();
  out[at] = (out[at] as number) ^ mask;
  return out;
}

// Magic, salt and the first frame's length: no frame of the segment reads.
function rot(bytes: Uint8Array): Uint8Array {
  let out = flip(bytes, 0);
  out = flip(out, HEADER_SALT_OFFSET);
  return flip(out, SEGMENT_HEADER_SIZE, 0x40);
}

/** k0..k8 in segments [0,1] [2,3,4] [5..8]; returns the last segment's file. */
async function nineEntries(wal: Wal): Promise<string> {
  for (let i = 0; i < 9; i++) {
    await wal.put(`k${i}`, `v${i}`);
    if (i === 1 || i === 4) await wal.rotate();
  }
  return wal.file;
}

test('review: a floor repair reusing the number of a deleted incident folder is still refused under the checkpoint', async () => {
  // The docs let an operator delete quarantine folders once no checkpoint
  // taken before them may be restored. repair numbers the next incident
  // from the folders left, so it reuses 1, which the table has as seen.
  const dir = tempDir();
  const first = await Wal.open({ dir, fs: nodeFs });
  const last = await nineEntries(first);
  await first.close();
  fs.writeFileSync(last, rot(fs.readFileSync(last)));
  expect(await repair(dir, { floor: 9 })).toMatchObject({ incident: 1, nextSequence: 9 });
  const wal = await Wal.open({ dir, fs: nodeFs });
  for (let i = 9; i < 12; i++) await wal.put(`a${i}`, `x${i}`);
  const tail = wal.file;
  await wal.close();
  const table = new Memtable();
  await replay(dir, table, { fs: nodeFs });
  expect(table).toMatchObject({ lastSequence: 11, incident: 1 });
  // The table's checkpoint is past incident 1: its folder may go.
  fs.rmSync(path.join(dir, 'quarantine', '1'), { recursive: true });
  // A second loss of the last segment, and a floor too low (6 under 11).
  fs.writeFileSync(tail, rot(fs.readFileSync(tail)));
  expect(await repair(dir, { floor: 6 })).toMatchObject({ incident: 1, nextSequence: 6 });
  const again = await Wal.open({ dir, fs: nodeFs });
  for (let i = 6; i < 14; i++) expect(await again.put(`b${i}`, `y${i}`)).toBe(i);
  await again.close();
  const checkpoint = new Memtable({
    lastSequence: table.lastSequence,
    logId: table.logId,
    incident: table.incident,
  });
  // Found: applied 2 (b12, b13); b6..b11 were skipped as entries it holds.
  await expect(replay(dir, checkpoint, { fs: nodeFs })).rejects.toMatchObject({
    code: 'WAL_SEQUENCE_REWOUND',
  });
});

test('review: a log restored from its archive after a floor repair below the checkpoint is refused, not replayed past the re-issued sequences', async () => {
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
  fs.writeFileSync(last, rot(fs.readFileSync(last)));
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
  expect(fresh.incident).toBe(null);
  const outcome = await replay(restoredDir, restored, { fs: nodeFs }).then(
    (r) => ({ applied: r.applied, after6: text(restored.get('after6')) }),
    (e: { code?: string }) => e.code,
  );
  // Found: { applied: 2, after6: undefined }: after6..after8 skipped silently.
  expect(outcome).toBe('WAL_SEQUENCE_REWOUND');
});

test('review: a floor repair made while replay was reading the log is not taken as seen', async () => {
  // replay lists incidents after its scan: a repair in between is recorded
  // in table.incident though none of the table's entries came after it.
  const sim = new SimFs();
  const first = await Wal.open({ dir: '/wal', fs: sim });
  const last = await nineEntries(first);
  await first.close();
  let repaired = false;
  const racing = wrapMethods(sim as WalFs, WAL_FS_METHODS, async (method, args, call) => {
    if (method === 'readdir' && args[0] === '/wal/quarantine' && !repaired) {
      repaired = true;
      sim.writeFile(last, rot(sim.readFile(last)));
      await repair('/wal', { fs: sim, floor: 6 });
    }
    return call(...args);
  });
  const table = new Memtable();
  await replay('/wal', table, { fs: racing });
  expect(repaired).toBe(true);
  expect(table.lastSequence).toBe(8);
  // Found: incident 1, which lets the checkpoint skip the re-issued 6..8.
  expect(table.incident).toBe(null);
});

test('review: a floor repair that died before changing the log does not refuse the repair run after it', async () => {
  // The first run (floor 6, too low) wrote its manifest, then failed on the
  // rename of the rebuilt segment: the log never continued at 6. The
  // operator runs it again with floor 9; the log continues at 9.
  const sim = new SimFs();
  const first = await Wal.open({ dir: '/wal', fs: sim });
  const last = await nineEntries(first);
  await first.close();
  const checkpoint = new Memtable();
  await replay('/wal', checkpoint, { fs: sim });
  sim.writeFile(last, rot(sim.readFile(last)));
  const failing = wrapMethods(sim as WalFs, WAL_FS_METHODS, async (method, args, call) => {
    if (method === 'rename' && String(args[0]).endsWith('.log.tmp')) {
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
  // Found: WAL_SEQUENCE_REWOUND naming incident 1, which never changed the log.
  const result = await replay('/wal', checkpoint, { fs: sim });
  expect(result).toMatchObject({ applied: 1 });
  expect(text(checkpoint.get('after'))).toBe('x');
});

test.each([
  ['null', 'null'],
  ['5', '5'],
])('review: a manifest of %s says what it held, not "found undefined"', async (json, held) => {
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

test('review: a log repaired before manifests recorded logId and fromFloor still replays over a checkpoint', async () => {
  // Mid-log damage, repaired without a floor by the version before 41a105c,
  // whose manifest held no logId and no fromFloor. That repair continued the
  // log above all it held; the checkpoint (taken before the upgrade, so
  // without incident) is legitimate.
  const sim = new SimFs();
  const first = await Wal.open({ dir: '/wal', fs: sim });
  await nineEntries(first);
  await first.close();
  const checkpoint = new Memtable();
  await replay('/wal', checkpoint, { fs: sim });
  const middle = '/wal/wal_00000001.log';
  const bytes = sim.readFile(middle);
  sim.writeFile(middle, flip(bytes, Buffer.from(bytes).indexOf('k2')));
  expect(await repair('/wal', { fs: sim })).toMatchObject({ incident: 1, nextSequence: 9 });
  const file = '/wal/quarantine/1/manifest.json';
  const {
    logId: _,
    fromFloor: __,
    ...old
  } = JSON.parse(Buffer.from(sim.readFile(file)).toString());
  sim.writeFile(file, Buffer.from(JSON.stringify(old, null, 2)));
  const wal = await Wal.open({ dir: '/wal', fs: sim });
  expect(await wal.put('after', 'x')).toBe(9);
  await wal.close();
  const restored = new Memtable({ lastSequence: 8, logId: checkpoint.logId });
  // Found: WAL_SEQUENCE_REWOUND, "found the manifest of incident 1 (quarantine/1)
  // unreadable: expected logId to be a log id (16 hex digits), found undefined";
  // the changeset does not say that logs repaired before the upgrade refuse.
  expect(await replay('/wal', restored, { fs: sim })).toMatchObject({ applied: 1 });
  expect(text(restored.get('after'))).toBe('x');
});
