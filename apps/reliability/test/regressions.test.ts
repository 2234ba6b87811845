import { Wal } from '@wal/fs';
import { SimFs } from '@wal/fs/testing';
import { recover, repair, verify } from '@wal/recovery';
import { describe, expect, test } from 'vitest';
import { freshFs, LOG_DIR, recoverEntries, reopenAndCheck, walOptions } from './support/check.js';
import { rot, writtenLog } from './support/fixtures.js';
import { History } from './support/history.js';

// Each test here is a bug the harness found, and fails on the code before its fix.

describe('regressions', () => {
  test('a torn sector that zeroes only the first bytes of a frame header is a torn tail', async () => {
    const fs = await freshFs(new SimFs());
    const wal = await Wal.open(walOptions(fs));
    const file = `${LOG_DIR}/wal_00000000.log`;
    // Header 48 + frame 8 + record 27 + 425 bytes of value: the next frame
    // starts at 508, so its 8-byte header straddles the sector boundary at 512.
    await wal.put('a', new Uint8Array(425).fill(1));
    expect(wal.segmentSize).toBe(508);
    let crashed: SimFs | undefined;
    fs.onOperation = (event) => {
      if (event.op !== 'write' || crashed) return;
      // Power loss before the fdatasync: the sector holding bytes 508..511
      // never reached the disk (zeros); the next sectors did.
      const length = fs.readFile(file).length;
      const outcome = { kind: 'torn', length, sector: 0 } as const;
      crashed = fs.crash({ files: new Map([[fs.inode(file), outcome]]) });
    };
    await Promise.all([wal.put('b', new Uint8Array(40).fill(2)), wal.delete('a')]);
    await wal.close();
    const after = crashed as SimFs;
    const header = after.readFile(file).subarray(508, 516);
    expect([...header.subarray(0, 4)]).toEqual([0, 0, 0, 0]);
    expect(header.subarray(4).some((b) => b !== 0)).toBe(true);
    expect((await recoverEntries(after)).map((e) => e.sequence)).toEqual([0]);
    const reopened = await Wal.open(walOptions(after));
    expect(reopened.nextSequence).toBe(1);
    await reopened.close();
  });

  test('a log directory created by Wal.open survives power loss once a put is acknowledged', async () => {
    const fs = new SimFs();
    await fs.mkdirp('/data');
    fs.syncAll();
    // Wal.open creates /data/db; its entry in /data is durable only once
    // /data is fsynced.
    const wal = await Wal.open({ ...walOptions(fs), dir: '/data/db' });
    await wal.put('k', 'v');
    const after = fs.crash();
    await wal.close();
    expect(await after.readdir('/data')).toEqual(['db']);
  });

  test('after a failed fdatasync and a reopen, later acknowledged appends survive power loss', async () => {
    const fs = await freshFs(new SimFs());
    const first = await Wal.open(walOptions(fs));
    await first.put('a', '1');
    // The kernel drops the dirty pages of a failed fdatasync and marks them
    // clean (fsyncgate): 'b' stays readable until power loss, never durable.
    fs.inject({ ops: ['fdatasync'] });
    await expect(first.put('b', '2')).rejects.toMatchObject({ code: 'WAL_FAILED' });
    expect(first.state).toBe('failed');
    await first.close();
    const second = await Wal.open(walOptions(fs));
    const acknowledged = await second.put('c', '3');
    const after = fs.crash();
    await second.close();
    const keys = (await recoverEntries(after)).map((e) => Buffer.from(e.key).toString());
    expect(keys).toContain('c');
    expect(acknowledged).toBeGreaterThan(0);
  });

  test('a power loss during truncateThrough never leaves a log that cannot be opened', async () => {
    const fs = await freshFs(new SimFs());
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
    await wal.truncateThrough(1);
    fs.onOperation = undefined;
    history.truncatedThrough(1);
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

  // Found by the kill states of the crash loop (seed 1, 'always', the kill
  // after call 16: the write of a seal). The killed writer's seal is in the
  // page cache only; open took the segment for sealed and created the next
  // one durably, so a power loss left a durable later segment after one
  // without its seal: recovery and Wal.open then refuse the log.
  test('a reopen after a kill between a seal and its fdatasync makes the seal durable before the next segment', async () => {
    const fs = await freshFs(new SimFs());
    const history = new History();
    const wal = await Wal.open(walOptions(fs));
    await history.append(wal, [{ type: 'put', key: 'k0', value: 'v0' }], 'put');
    let killed: SimFs | undefined;
    fs.onOperation = (event) => {
      if (event.op === 'write' && !killed) killed = fs.kill();
    };
    await wal.rotate();
    fs.onOperation = undefined;
    await wal.close();
    const reopened = await reopenAndCheck(killed as SimFs, history.clone(), {}, 'kill');
    expect(reopened.segment).toBe(1);
    const after = (killed as SimFs).crash();
    await reopened.close();
    await (await reopenAndCheck(after, history)).close();
  });

  // A power loss between a seal's write and its fdatasync (sync 'none' or
  // 'interval') used to be able to tear a sector before the seal: nothing
  // before it was synced. Found by the crash loop, sync 'none', seed 1,
  // after call 50, state 0. A rotation now syncs what it seals before it
  // writes the seal (whose watermark then vouches for every byte before
  // it), so the same crash keeps the record and no tail is cut.
  test('a crash while a seal is written keeps the records before it: the rotation synced them first', async () => {
    const fs = await freshFs(new SimFs());
    // Without preallocation: a rotation that cuts preallocated zeros always synced before the seal.
    const wal = await Wal.open(walOptions(fs, { sync: 'none', preallocateBytes: 0 }));
    const file = `${LOG_DIR}/wal_00000000.log`;
    await wal.put('a', new Uint8Array(600).fill(1));
    let crashed: SimFs | undefined;
    fs.onOperation = (event) => {
      if (event.op !== 'write' || crashed) return;
      // The seal is written; the first sector after the header tears if it is not durable.
      const outcome = { kind: 'torn', length: fs.readFile(file).length, sector: 0 } as const;
      crashed = fs.crash({ files: new Map([[fs.inode(file), outcome]]) });
    };
    await wal.rotate();
    fs.onOperation = undefined;
    await wal.close();
    const after = crashed as SimFs;
    const { entries, stats } = await recover(LOG_DIR, { fs: after });
    expect(entries.map((e) => e.sequence)).toEqual([0]);
    expect(stats.tornTail).toBeNull();
    const reopened = await Wal.open(walOptions(after));
    expect([reopened.segment, reopened.nextSequence, reopened.repairs.length]).toEqual([1, 1, 0]);
    await reopened.close();
  });

  // fsyncgate after a failed salvage: the writer's fdatasync fails, and so
  // does the ftruncate that would cut the unacknowledged group. Its bytes
  // stay readable but were marked clean, so the next open's fdatasync
  // succeeds without writing them. The reopened writer continues after them
  // and acknowledges a put; a power loss turns them into zeros before it,
  // and the acknowledged put is lost (or the log refuses to open). Found by
  // the fault loop, sync 'always', seed 1, N=24, persistent (fdatasync, then
  // ftruncate of the salvage), then restart, then power loss after the reopen.
  test('an open after a failed fdatasync whose salvage failed keeps later acknowledged puts', async () => {
    const fs = await freshFs(new SimFs());
    const history = new History();
    const first = await Wal.open(walOptions(fs));
    await history.append(first, [{ type: 'put', key: 'a', value: '1' }], 'put');
    fs.inject({ ops: ['fdatasync', 'ftruncate'], persistent: true });
    const failed = history.append(first, [{ type: 'put', key: 'b', value: '2' }], 'put');
    await expect(failed).rejects.toMatchObject({ code: 'WAL_FAILED' });
    await first.close();
    // The device is healthy again; the application reopens in-process.
    fs.clearFaults();
    const second = await reopenAndCheck(fs, history, {}, 'kill');
    await history.append(second, [{ type: 'put', key: 'c', value: '3' }], 'put');
    const after = fs.crash();
    await second.close();
    await (await reopenAndCheck(after, history)).close();
  });

  // repair writes each rebuilt segment as `wal_N.log.tmp` (created with
  // O_EXCL) and renames it into place; one interrupted after the create
  // leaves the temp file, and every retry then fails with EEXIST. Found by
  // the recovery-faults loop (repair of mid-log damage, N=67 transient,
  // open of wal_00000001.log failing, then restart).
  test('a repair killed after creating its temp file can be retried', async () => {
    const fs = await writtenLog();
    await rot(fs, 1);
    let killed: SimFs | undefined;
    fs.onOperation = (event) => {
      if (event.op === 'open' && event.path.endsWith('.log.tmp') && !killed) killed = fs.kill();
    };
    await repair(LOG_DIR, { fs });
    fs.onOperation = undefined;
    const retried = await repair(LOG_DIR, { fs: killed as SimFs });
    expect(retried.nextSequence).toBe(8);
    expect((await verify(LOG_DIR, { fs: killed as SimFs })).ok).toBe(true);
  });

  // Open writes again what lies past the last frame's synced watermark, so
  // that pages a failed writeback marked clean reach the disk. Under sync
  // 'always' that is the last group: acknowledged, already durable, and no
  // later frame says so. A power loss during the rewrite then cuts it (the
  // crash model treats the rewritten bytes as unsynced). Found by the crash
  // loop, sync 'always', seed 2, after call 56, state 3, then after call 127.
  test('a reopen never puts acknowledged bytes at risk', async () => {
    const fs = await freshFs(new SimFs());
    const history = new History();
    const wal = await Wal.open(walOptions(fs));
    await history.append(wal, [{ type: 'put', key: 'k0', value: 'v0' }], 'put');
    await history.append(wal, [{ type: 'put', key: 'k1', value: new Uint8Array(100) }], 'put');
    const killed = fs.kill();
    await wal.close();
    const file = `${LOG_DIR}/wal_00000000.log`;
    const states: SimFs[] = [];
    killed.onOperation = (event) => {
      if (!event.mutating || event.path !== file) return;
      const size = killed.readFile(file).length;
      const outcome = { kind: 'cut', length: size - 10 } as const;
      states.push(killed.crash({ files: new Map([[killed.inode(file), outcome]]) }));
    };
    await (await reopenAndCheck(killed, history.clone(), {}, 'kill')).close();
    killed.onOperation = undefined;
    expect(states.length).toBeGreaterThan(0);
    for (const state of states) await (await reopenAndCheck(state, history.clone())).close();
  });

  // A last segment whose seal is followed by torn bytes: open cut them
  // (into .broken), then kept appending to the sealed segment, so the next
  // rotation wrote a second seal after the first and recovery refused the
  // log (bad-seal). Found by the model test, sync 'always', seed 1658606625:
  // fail-next-fdatasync, rotate, crash(0) with a half-frame tail, rotate.
  test('after a torn tail behind its seal is cut, a sealed last segment stays sealed', async () => {
    const fs = await freshFs(new SimFs());
    const history = new History();
    const wal = await Wal.open(walOptions(fs));
    await history.append(wal, [{ type: 'put', key: 'a', value: '1' }], 'put');
    const file = `${LOG_DIR}/wal_00000000.log`;
    let sealed: SimFs | undefined;
    fs.onOperation = (event) => {
      if (event.op === 'fdatasync' && event.path === file && !sealed) sealed = fs.kill();
    };
    await wal.rotate();
    fs.onOperation = undefined;
    await wal.close();
    // The seal is durable and the next segment does not exist; torn bytes follow the seal.
    const after = sealed as SimFs;
    after.writeFile(file, Buffer.concat([after.readFile(file), new Uint8Array(14).fill(7)]));
    const reopened = await Wal.open(walOptions(after));
    await history.append(reopened, [{ type: 'put', key: 'b', value: '2' }], 'put');
    await reopened.rotate();
    await reopened.close();
    expect((await recoverEntries(after)).map((e) => Buffer.from(e.key).toString())).toEqual([
      'a',
      'b',
    ]);
  });
});
