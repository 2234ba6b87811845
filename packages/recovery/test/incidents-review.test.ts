import { SimFs } from '@wal/fs/testing';
import { listIncidents, repair } from '@wal/recovery';
import { expect, test } from 'vitest';
import { LOG_ID, puts, simLog, simLogUnreadableLast } from './helpers.js';

async function repaired() {
  const { sim } = await simLogUnreadableLast();
  await repair('/wal', { fs: sim, floor: 9 });
  return sim;
}

test.each([
  ['a number for dir', 5, undefined, 'WAL_INVALID_ARGUMENT'],
  ['a NUL in dir', '/wal\0x', undefined, 'WAL_INVALID_ARGUMENT'],
  ['options a string', '/wal', 'x', 'WAL_INVALID_OPTIONS'],
  ['options an array', '/wal', [], 'WAL_INVALID_OPTIONS'],
  ['fs not a WalFs', '/wal', { fs: {} }, 'WAL_INVALID_OPTIONS'],
  ['an unknown option', '/wal', { dryRun: true }, 'WAL_INVALID_OPTIONS'],
])('%s is %s before any I/O', async (_, dir, options, code) => {
  const sim = await repaired();
  const before = sim.snapshot();
  const operations = sim.operations;
  const call = listIncidents(
    dir as never,
    options === undefined ? { fs: sim } : (options as never),
  );
  await expect(call).rejects.toMatchObject({ code });
  expect(sim.operations).toBe(operations);
  expect(sim.snapshot()).toEqual(before);
});

test('a quarantine that is a file, or a manifest that is a folder, is WAL_IO_ERROR and changes nothing', async () => {
  const { sim } = await simLog([puts(2)]);
  sim.writeFile('/wal/quarantine', Buffer.from('not a folder'));
  let before = sim.snapshot();
  await expect(listIncidents('/wal', { fs: sim })).rejects.toMatchObject({ code: 'WAL_IO_ERROR' });
  expect(sim.snapshot()).toEqual(before);
  const other = await repaired();
  await other.mkdirp('/wal/quarantine/2/manifest.json');
  before = other.snapshot();
  await expect(listIncidents('/wal', { fs: other })).rejects.toMatchObject({
    code: 'WAL_IO_ERROR',
  });
  expect(other.snapshot()).toEqual(before);
});

test.each([
  ['null', 'expected an object, found null'],
  ['5', 'expected an object, found the number 5'],
  ['[]', 'expected an object, found an array'],
  ['"text"', 'expected an object, found the string "text"'],
  [
    `{"logId":"${LOG_ID.toUpperCase()}","nextSequence":1,"fromFloor":false,"incident":1}`,
    'expected logId',
  ],
  [
    `{"logId":"${LOG_ID}","nextSequence":1e300,"fromFloor":false,"incident":1}`,
    'expected nextSequence to be a sequence',
  ],
  [
    `{"logId":"${LOG_ID}","nextSequence":"3","fromFloor":false,"incident":1}`,
    'expected nextSequence to be a sequence',
  ],
  [
    `{"logId":"${LOG_ID}","nextSequence":3,"fromFloor":"true","incident":1}`,
    'expected fromFloor to be a boolean',
  ],
  [
    `{"logId":"${LOG_ID}","nextSequence":3,"fromFloor":true,"incident":"1"}`,
    "expected incident to be its folder's 1",
  ],
  [`\uFEFF{"logId":"${LOG_ID}"}`, 'expected JSON'],
])('the manifest %s reads as unreadable, saying what it held', async (json, found) => {
  const sim = await repaired();
  sim.writeFile('/wal/quarantine/1/manifest.json', Buffer.from(json));
  const [incident] = await listIncidents('/wal', { fs: sim });
  expect(incident).toMatchObject({ incident: 1, logId: null, nextSequence: null, fromFloor: null });
  expect(incident?.unreadable).toContain(found);
});

test('folders that are not incident numbers are left out; the listing never changes the directory', async () => {
  const sim = await repaired();
  for (const name of ['0', '01', '-1', '1.5', 'x1']) await sim.mkdirp(`/wal/quarantine/${name}`);
  sim.writeFile('/wal/quarantine/readme', Buffer.from('notes'));
  const before = sim.snapshot();
  const listed = await listIncidents('/wal', { fs: sim });
  expect(listed.map((i) => i.incident)).toEqual([1]);
  expect(listed[0]).toMatchObject({ logId: LOG_ID, nextSequence: 9, fromFloor: true });
  expect(sim.snapshot()).toEqual(before);
});

test('listIncidents on a missing directory is empty and creates nothing', async () => {
  const sim = new SimFs();
  expect(await listIncidents('/missing/deeper', { fs: sim })).toEqual([]);
  expect(sim.snapshot()).toEqual(new SimFs().snapshot());
});
