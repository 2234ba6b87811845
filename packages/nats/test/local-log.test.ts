// The local writer's condition through a ReplicatedWal: `state`, `failure`
// and `retentionError` read as `Wal`'s do, so a poisoned log (a failed
// fdatasync) or a failing retention is visible to the replicated writer's user.
import { DiscardPolicy, jetstreamManager } from '@nats-io/jetstream';
import { nodeFs, type WalFs } from '@wal/fs';
import { describe, expect, test } from 'vitest';
import { ReplicatedWal } from '../src/index.js';
import { connectCluster, streamRanges, tempDir, uniqueName } from './helpers.js';

/**
 * nodeFs, but `fdatasync` and `unlink` fail with an errno while armed. A
 * write on a durable handle ('r+dsync', the active segment under 'always')
 * syncs its range, so it fails as an fdatasync once written.
 */
function faultyFs(): {
  fs: WalFs;
  fail: (op: 'fdatasync' | 'unlink', code: string) => void;
  heal: () => void;
} {
  const failing = new Map<string, string>();
  const fault = (op: string): NodeJS.ErrnoException | undefined => {
    const code = failing.get(op);
    return code === undefined
      ? undefined
      : Object.assign(new Error(`${code}: injected fault, ${op}`), { code, syscall: op });
  };
  const durable = new Set<number>();
  const fs: WalFs = {
    ...nodeFs,
    open: async (file, flags) => {
      const fd = await nodeFs.open(file, flags);
      if (flags === 'r+dsync') durable.add(fd);
      return fd;
    },
    close: (fd) => {
      durable.delete(fd);
      return nodeFs.close(fd);
    },
    write: async (fd, buffer, position) => {
      const n = await nodeFs.write(fd, buffer, position);
      const error = durable.has(fd) ? fault('fdatasync') : undefined;
      if (error) throw error;
      return n;
    },
    fdatasync: (fd) => {
      const error = fault('fdatasync');
      return error ? Promise.reject(error) : nodeFs.fdatasync(fd);
    },
    unlink: (file) => {
      const error = fault('unlink');
      return error ? Promise.reject(error) : nodeFs.unlink(file);
    },
  };
  return { fs, fail: (op, code) => failing.set(op, code), heal: () => failing.clear() };
}

/** The errno code at the end of an error's cause chain. */
function rootCode(error: unknown): unknown {
  let e = error as { code?: unknown; cause?: unknown } | undefined;
  while (e?.cause !== undefined) e = e.cause as typeof e;
  return e?.code;
}

describe("the local writer's condition", () => {
  test("a failed fdatasync shows as state 'failed' and failure (WAL_IO_ERROR, cause EIO); what was acknowledged stays replicated", async () => {
    const nc = await connectCluster();
    const stream = uniqueName('fsync');
    const faults = faultyFs();
    const wal = await ReplicatedWal.open({ dir: tempDir(), nats: nc, stream, fs: faults.fs });
    expect(await wal.put('a', '1')).toBe(0);
    expect(wal.state).toBe('open');
    expect(wal.failure).toBeUndefined();

    faults.fail('fdatasync', 'EIO');
    const error = await wal.put('b', '2').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'WAL_FAILED' });
    expect(wal.state).toBe('failed');
    expect(wal.failure).toMatchObject({
      code: 'WAL_IO_ERROR',
      message: expect.stringContaining('fdatasync'),
    });
    expect((error as Error).cause).toBe(wal.failure);
    expect(rootCode(wal.failure)).toBe('EIO');
    // The log failed, not replication: the stream has record 0 and nothing else.
    expect(wal.replicationError).toBeUndefined();
    expect(wal.replicatedSequence).toBe(1);
    await wal.close();
    expect(wal.state).toBe('closed');
    expect(await streamRanges(nc, stream)).toEqual([[0, 1]]);
  });

  test('a failed maxSegments retention shows in retentionError (WAL_IO_ERROR, cause EACCES) while appends go on; a later rotation clears it', async () => {
    const nc = await connectCluster();
    const faults = faultyFs();
    const wal = await ReplicatedWal.open({
      dir: tempDir(),
      nats: nc,
      stream: uniqueName('retention'),
      fs: faults.fs,
      maxSegments: 2,
      maxSegmentBytes: 200,
    });
    await wal.rotate();
    expect(wal.retentionError).toBeUndefined();

    faults.fail('unlink', 'EACCES');
    // Rotations for full segments: their retention fails, no append rejects.
    for (let i = 0; i < 6; i++) expect(await wal.put(`k${i}`, 'v'.repeat(60))).toBe(i);
    const error = wal.retentionError;
    expect(error).toMatchObject({
      code: 'WAL_IO_ERROR',
      message: expect.stringMatching(/remove segment .*EACCES.*retention runs again/),
    });
    expect((error?.cause as { code?: string } | undefined)?.code).toBe('EACCES');
    expect(wal.state).toBe('open');
    expect(wal.failure).toBeUndefined();

    faults.heal();
    await wal.rotate();
    expect(wal.retentionError).toBeUndefined();
    await wal.close();
  });

  test("state reads 'closing' until close() has stopped publishing (not the log's 'closed'), then 'closed'", async () => {
    const nc = await connectCluster();
    const jsm = await jetstreamManager(nc);
    const stream = uniqueName('closing');
    const wal = await ReplicatedWal.open({ dir: tempDir(), nats: nc, stream, ack: 'local' });
    await wal.put('a', '1');
    await wal.waitReplicated(0);
    // The stream takes no more messages: close() waits for it until the signal.
    const { config } = await jsm.streams.info(stream);
    await jsm.streams.update(stream, { ...config, max_msgs: 1, discard: DiscardPolicy.New });
    await wal.put('b', '2');
    let settled = false;
    const closing = wal.close({ signal: AbortSignal.timeout(1_000) }).finally(() => {
      settled = true;
    });
    const seen = new Set<string>();
    while (!settled) {
      seen.add(wal.state);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await closing;
    expect([...seen]).toEqual(['closing']);
    expect(wal.state).toBe('closed');
  });

  test("a second close() returns the first: its short signal does not cut the first one's wait for the stream", async () => {
    const nc = await connectCluster();
    const jsm = await jetstreamManager(nc);
    const stream = uniqueName('close-twice');
    const wal = await ReplicatedWal.open({ dir: tempDir(), nats: nc, stream, ack: 'local' });
    await wal.put('a', '1');
    await wal.waitReplicated(0);
    const { config } = await jsm.streams.info(stream);
    await jsm.streams.update(stream, { ...config, max_msgs: 1, discard: DiscardPolicy.New });
    await wal.put('b', '2');
    const first = wal.close({ signal: AbortSignal.timeout(15_000) });
    const second = wal.close({ signal: AbortSignal.abort() });
    expect(second).toBe(first);
    // The stream takes messages again: the first close's wait sees b stored.
    await jsm.streams.update(stream, { ...config, max_msgs: -1 });
    await first;
    expect((await jsm.streams.info(stream)).state.messages).toBe(2);
  });
});
