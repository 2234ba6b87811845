import { randomBytes } from 'node:crypto';
import type { WalEntry } from '@wal/codec';
import { Memtable } from '@wal/memtable';
import { describe, expect, test } from 'vitest';
import { Follower, ReplicatedWal } from '../src/index.js';
import { cluster, connectCluster, tempDir, uniqueName, until } from './helpers.js';

interface Put {
  key: string;
  value: string;
}

const text = new TextDecoder();

// The Follower's one way in is Memtable.apply: every call is recorded, in
// call order, whether the table took the entry or ignored it as applied
// before (a redelivery would show here, where the table would hide it).
class RecordingTable extends Memtable {
  readonly calls: { sequence: number; key: string; value: string | null; taken: boolean }[] = [];

  override apply(entry: WalEntry): boolean {
    const taken = super.apply(entry);
    this.calls.push({
      sequence: entry.sequence,
      key: text.decode(entry.key),
      value: entry.type === 'put' ? text.decode(entry.value) : null,
      taken,
    });
    return taken;
  }
}

describe('a follower while the stream leader is SIGKILLed mid-load', () => {
  test('applies every sequence once, in order, with the key and value put at it, across the re-election', async () => {
    const nats = cluster();
    const nc = await connectCluster();
    const stream = uniqueName('follow-order');
    const wal = await ReplicatedWal.open({
      dir: tempDir(),
      nats: nc,
      stream,
      publishTimeoutMs: 2_000,
    });
    const table = new RecordingTable();
    const follower = await Follower.start({ nats: nc, stream, table });
    // What each sequence was given, read as the append takes it (synchronously).
    const written = new Map<number, Put>();
    const acked: number[] = [];
    const mismatched: string[] = [];
    const salt = randomBytes(4).toString('hex');
    let stop = false;
    // Six lanes of puts, two of three-put batches: a batch's entries must come out together.
    const lanes = Array.from({ length: 8 }, async (_, lane) => {
      for (let i = 0; !stop; i++) {
        const first = wal.nextSequence;
        if (lane < 6) {
          const put = { key: `k${lane}-${i % 50}`, value: `${salt}:${lane}:${i}` };
          written.set(first, put);
          const sequence = await wal.put(put.key, put.value);
          if (sequence !== first) mismatched.push(`put ${put.key} at ${sequence}, not ${first}`);
          acked.push(sequence);
        } else {
          const ops = [0, 1, 2].map((j) => ({
            type: 'put' as const,
            key: `b${lane}-${(i * 3 + j) % 50}`,
            value: `${salt}:${lane}:${i}:${j}`,
          }));
          for (const [j, op] of ops.entries())
            written.set(first + j, { key: op.key, value: op.value });
          const sequence = await wal.batch(ops);
          if (sequence !== first) mismatched.push(`batch at ${sequence}, not ${first}`);
          acked.push(sequence, sequence + 1, sequence + 2);
        }
      }
    });
    let leader: string | undefined;
    let writerError: unknown;
    try {
      await until(
        () => acked.length >= 300 && (table.lastSequence ?? -1) >= 100,
        '300 replicated puts and 100 applied',
      );
      leader = await nats.streamLeader(stream);
      await nats.kill(leader);
      const atKill = acked.length;
      const appliedAtKill = table.calls.length;
      await until(
        () => acked.length >= atKill + 300 && table.calls.length >= appliedAtKill + 300,
        '300 more puts acknowledged and applied under a new leader',
        90_000,
      );
    } finally {
      stop = true;
      // Every lane's last put is acknowledged (or failed) before the node comes back.
      await Promise.all(lanes).catch((error: unknown) => {
        writerError = error;
      });
      if (leader !== undefined) {
        // The next files share the cluster: bring the node back whatever failed.
        await nats.restart(leader);
        await nats.waitHealthy();
      }
    }
    expect(writerError).toBeUndefined();
    expect(mismatched).toEqual([]);
    expect(wal.replicationStats.resyncs).toBeGreaterThan(0);
    await wal.close();
    const n = wal.nextSequence;
    try {
      await follower.waitFor(n - 1, AbortSignal.timeout(180_000));
    } finally {
      await follower.stop();
    }
    expect(follower.error).toBeUndefined();

    // Every apply call, in order: exactly 0..n-1, none twice, none missing, none ignored.
    expect(table.calls.map((c) => c.sequence)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(table.calls.every((c) => c.taken)).toBe(true);
    expect(follower.applied).toBe(n);
    // Each with the key and value put at that sequence.
    expect(written.size).toBe(n);
    const mismatches = table.calls.filter((c) => {
      const put = written.get(c.sequence);
      return put?.key !== c.key || put.value !== c.value;
    });
    expect(mismatches).toEqual([]);
    // The writer's acknowledged sequences are distinct and all among the applied ones.
    expect(new Set(acked).size).toBe(acked.length);
    expect(acked.every((s) => Number.isInteger(s) && s >= 0 && s < n)).toBe(true);
    expect(acked.length).toBe(n);
  }, 300_000);
});
