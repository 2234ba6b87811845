// listIncidents: the log's repairs as their manifests record them, which a
// checkpoint's replay checks (a repair from a floor below it).
import fs from 'node:fs';
import path from 'node:path';
import { SEGMENT_HEADER_SIZE } from '@wal/codec';
import { Wal } from '@wal/fs';
import { SimFs } from '@wal/fs/testing';
import { listIncidents, repair, scanLog } from '@wal/recovery';
import { tempDir } from '@wal/test-support';
import { expect, test } from 'vitest';
import { flip, LOG_ID, puts, simLog, simLogUnreadableLast } from './helpers.js';

test('a missing directory, or a log never repaired, has no incidents; nothing is created', async () => {
  const sim = new SimFs();
  expect(await listIncidents('/nowhere', { fs: sim })).toEqual([]);
  const { sim: logged } = await simLog([puts(2)]);
  expect(await listIncidents('/wal', { fs: logged })).toEqual([]);
  expect((await logged.readdir('/wal')).includes('quarantine')).toBe(false);
});

test('each repair is listed in incident order with its log, where it continued the log, and whether from a floor', async () => {
  const { sim } = await simLogUnreadableLast();
  expect(await repair('/wal', { fs: sim, floor: 4 })).toMatchObject({ fromFloor: true });
  // A second repair, of rot in the first record, reads every segment; a
  // floor on a log whose last segment reads only raises nextSequence.
  const first = '/wal/wal_00000000.log';
  sim.writeFile(first, flip(sim.readFile(first), SEGMENT_HEADER_SIZE + 20));
  expect(await repair('/wal', { fs: sim, floor: 5 })).toMatchObject({ fromFloor: false });
  expect(await listIncidents('/wal', { fs: sim })).toEqual([
    {
      incident: 1,
      incidentDir: '/wal/quarantine/1',
      logId: LOG_ID,
      nextSequence: 5,
      fromFloor: true,
      unreadable: null,
    },
    {
      incident: 2,
      incidentDir: '/wal/quarantine/2',
      logId: LOG_ID,
      nextSequence: 5,
      fromFloor: false,
      unreadable: null,
    },
  ]);
});

test('a folder without a manifest (a repair that died before changing the log) is left out; a bad manifest says what it held', async () => {
  const { sim } = await simLogUnreadableLast();
  await repair('/wal', { fs: sim, floor: 9 });
  await sim.mkdirp('/wal/quarantine/2');
  await sim.mkdirp('/wal/quarantine/notes');
  await sim.mkdirp('/wal/quarantine/3');
  const cases: [string, string][] = [
    ['{', 'expected JSON, found'],
    [
      '{"logId":"x","nextSequence":1,"fromFloor":false,"incident":3}',
      'expected logId to be a log id (16 hex digits), found the string "x"',
    ],
    [
      `{"logId":"${LOG_ID}","nextSequence":-1,"fromFloor":false,"incident":3}`,
      'expected nextSequence to be a sequence, found the number -1',
    ],
    [
      `{"logId":"${LOG_ID}","nextSequence":1,"incident":3}`,
      'expected fromFloor to be a boolean, found undefined',
    ],
    [
      `{"logId":"${LOG_ID}","nextSequence":1,"fromFloor":false,"incident":4}`,
      "expected incident to be its folder's 3, found the number 4",
    ],
  ];
  for (const [json, found] of cases) {
    sim.writeFile('/wal/quarantine/3/manifest.json', Buffer.from(json));
    const listed = await listIncidents('/wal', { fs: sim });
    expect(listed.map((i) => i.incident)).toEqual([1, 3]);
    expect(listed[1]).toMatchObject({ logId: null, nextSequence: null, fromFloor: null });
    expect(listed[1]?.unreadable).toContain(found);
  }
});

test('bad arguments are refused before any I/O', async () => {
  const sim = new SimFs();
  await expect(listIncidents('', { fs: sim })).rejects.toMatchObject({
    code: 'WAL_INVALID_ARGUMENT',
  });
  await expect(listIncidents('/wal', { fs: sim, floor: 1 } as never)).rejects.toMatchObject({
    code: 'WAL_INVALID_OPTIONS',
  });
  expect(sim.operations).toBe(0);
});

test('an incident number is never reused, also after the quarantine was deleted: the holes in the log still name theirs', async () => {
  const dir = tempDir();
  const wal = await Wal.open(dir);
  for (let i = 0; i < 6; i++) {
    await wal.put(`k${i}`, `v${i}`);
    if (i % 2 === 1) await wal.rotate();
  }
  await wal.close();
  const rot = (segment: number, key: string) => {
    const file = path.join(dir, `wal_0000000${segment}.log`);
    const bytes = fs.readFileSync(file);
    const at = bytes.indexOf(key);
    bytes[at] = (bytes[at] as number) ^ 0x01;
    fs.writeFileSync(file, bytes);
  };
  rot(1, 'k2');
  expect(await repair(dir)).toMatchObject({ incident: 1 });
  fs.rmSync(path.join(dir, 'quarantine'), { recursive: true });
  rot(2, 'k4');
  expect(await repair(dir)).toMatchObject({ incident: 2 });
  const scan = scanLog(dir, { mode: 'skip-corrupted' });
  for await (const _ of scan);
  expect(scan.stats.holes.map((h) => [h.firstSequence, h.incident])).toEqual([
    [2, 1],
    [4, 2],
  ]);
  expect((await listIncidents(dir)).map((i) => i.incident)).toEqual([2]);
});
