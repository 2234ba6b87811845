// The cross-process tail against a writer in another process: what a later scan vouches for is what is on disk now, not what was read before it; and an empty log read from 'latest' while retention races the tail.
import type { WalEntry } from '@wal/codec';
import { Wal, type WalFs } from '@wal/fs';
import { SimFs } from '@wal/fs/testing';
import { tailLog } from '@wal/recovery';
import { describe, expect, test } from 'vitest';

const DIR = '/log';

type Hook = (op: keyof WalFs, args: unknown[], run: () => Promise<unknown>) => Promise<unknown>;

function wrap(inner: WalFs, hook: Hook): WalFs {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) =>
        hook(prop as keyof WalFs, args, () => value.apply(target, args));
    },
  });
}

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

const text = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString() : null);

describe('cross-process tail: frames vouched for by a later scan are the frames read before it', () => {
  // The writer (another process, here the same SimFs) writes a group of two
  // frames; the write lands only partly (F1 whole, a few bytes of F2), then
  // fails: the writer cuts the file back, rejects both puts, and the next
  // puts reuse their sequences. The tail read F1 while it was there; the
  // scan that vouches for it runs after the writer wrote the new frames,
  // and one of those says it was written once bytes past F2's start were
  // durable. That vouches for what is at F1's offset NOW, not for the F1
  // the tail read.
  for (const accepted of ['accepted', 'accepted-longer']) {
    test(`a rejected frame read while its write was landing is never yielded (${accepted})`, async () => {
      const sim = new SimFs();
      let armed = false;
      let groupStart = -1;
      const gate = deferred();
      const writerFs = wrap(sim, async (op, args, run) => {
        if (op === 'write' && armed) {
          const [fd, buffer, position] = args as [number, Uint8Array, number];
          if (groupStart < 0) {
            // The group's write: only F1 and a few bytes of F2 land.
            groupStart = position;
            const n = buffer.length - 20;
            return sim.write(fd, buffer.subarray(0, n), position);
          }
          armed = false;
          await gate.promise; // the tail read the torn bytes
          throw Object.assign(new Error('EIO: injected'), { code: 'EIO', syscall: 'write' });
        }
        return run();
      });
      // Plain writes, each put synced as under 'always': there a failed
      // (durable) write fails the writer, and this one must go on.
      const wal = await Wal.open({ dir: DIR, fs: writerFs, sync: 'none' });
      const put = async (key: string, value: string) => {
        await wal.put(key, value);
        await wal.sync();
      };
      await put('k0', 'v');
      await put('k1', 'v');

      const writerDone = deferred();
      let hooked = false;
      const tailFs = wrap(sim, async (op, args, run) => {
        const result = await run();
        if (op === 'read' && !hooked && groupStart >= 0 && args[4] === groupStart) {
          hooked = true;
          gate.resolve();
          await writerDone.promise;
        }
        return result;
      });
      const controller = new AbortController();
      const tail = tailLog(DIR, {
        fs: tailFs,
        pollIntervalMs: 1,
        watch: false,
        signal: controller.signal,
      });
      const got: WalEntry[] = [];
      const reading = (async () => {
        try {
          for await (const e of tail) {
            got.push(e);
            if (got.length === 5) break;
          }
        } catch (error) {
          return error;
        }
        return undefined;
      })();

      armed = true;
      const rejected = [wal.put('k2', 'rejected'), wal.put('k3', 'rejected')];
      await expect(rejected[0]).rejects.toMatchObject({ code: 'WAL_IO_ERROR' });
      await expect(rejected[1]).rejects.toMatchObject({ code: 'WAL_IO_ERROR' });
      expect(wal.durableSequence).toBe(2);
      await put('k2', accepted);
      await put('k3', 'v');
      await put('k4', 'v');
      await wal.close();
      writerDone.resolve();
      const error = await reading;
      expect(hooked).toBe(true);
      expect(error).toBeUndefined();
      expect(got.map((e) => [e.sequence, text(e.key), text(e.value)])).toEqual([
        [0, 'k0', 'v'],
        [1, 'k1', 'v'],
        [2, 'k2', accepted],
        [3, 'k3', 'v'],
        [4, 'k4', 'v'],
      ]);
    });
  }
});

describe("'latest' on a log with no segment yet, retention racing the tail", () => {
  // The tail found no segment, so everything the log will hold is written
  // after it started: sequence 0 on. When retention deleted some of it
  // before the tail looked again, that is the gap `from: 0` reports as
  // WAL_TRUNCATED ("never a later start"); 'latest' must not start later
  // silently either.
  test('entries written after the tail started and deleted before it looked: WAL_TRUNCATED, not a silent later start', async () => {
    const sim = new SimFs();
    await sim.mkdirp(DIR);
    const listed = deferred();
    const writerDone = deferred();
    let looks = 0;
    const controller = new AbortController();
    const tailFs = wrap(sim, async (op, _args, run) => {
      if (++looks > 300) controller.abort(new Error('still waiting'));
      if (looks > 1) await writerDone.promise;
      const result = await run();
      if (op === 'readdir') listed.resolve();
      return result;
    });
    const tail = tailLog(DIR, {
      from: 'latest',
      fs: tailFs,
      signal: controller.signal,
      pollIntervalMs: 1,
      watch: false,
    });
    const got: number[] = [];
    const reading = (async () => {
      try {
        for await (const e of tail) {
          got.push(e.sequence);
          if (got.length === 3) break;
        }
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    await listed.promise; // the tail found no segment
    const wal = await Wal.open({ dir: DIR, fs: sim, maxSegments: 2 });
    for (let i = 0; i < 3; i++) {
      await wal.put(`k${i}`, 'v');
      await wal.rotate();
    }
    await wal.put('k3', 'v');
    await wal.close();
    writerDone.resolve();
    const error = await reading;
    // Same start as from: 0 would make.
    expect({ got, error }).toMatchObject({ got: [], error: { code: 'WAL_TRUNCATED' } });
  });
});
