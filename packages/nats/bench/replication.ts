// Replicated put throughput and latency against local 'always', in one run,
// and follower lag under load. Starts its own three-node cluster (or uses the
// one WAL_NATS_CLUSTER names). Numbers are for this machine; read them as ratios.
//   node --conditions=@wal/source --import tsx packages/nats/bench/replication.ts [--ops 2000]
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Wal } from '@wal/fs';
import { Memtable } from '@wal/memtable';
import { Follower, ReplicatedWal, type ReplicationAck } from '../src/index.js';
import { NatsCluster } from '../src/testing/index.js';

const { values } = parseArgs({ options: { ops: { type: 'string', default: '2000' } } });
const ops = Number(values.ops);
const root = mkdtempSync(path.join(os.tmpdir(), 'wal-nats-bench-'));
const value = Buffer.alloc(100, 7);
let streams = 0;

interface Writer {
  put(key: string, value: Uint8Array): Promise<number>;
  close(): Promise<void>;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

async function sequential(writer: Writer): Promise<{ p50: number; p99: number }> {
  const times: number[] = [];
  for (let i = 0; i < ops; i++) {
    const t = performance.now();
    await writer.put(`key-${i}`, value);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { p50: quantile(times, 0.5), p99: quantile(times, 0.99) };
}

async function concurrent(writer: Writer, lanes: number): Promise<number> {
  let next = 0;
  const t = performance.now();
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (next < ops) await writer.put(`key-${next++}`, value);
    }),
  );
  return ops / ((performance.now() - t) / 1000);
}

async function replicated(nats: NatsConnection, ack: ReplicationAck): Promise<ReplicatedWal> {
  return ReplicatedWal.open({
    dir: path.join(root, `r${streams}`),
    nats,
    stream: `bench-${process.pid}-${streams++}`,
    ack,
  });
}

const given = process.env.WAL_NATS_CLUSTER;
const cluster = given
  ? NatsCluster.attach(given)
  : await NatsCluster.start({ dir: path.join(root, 'nats') });
const nats = await connect({ servers: cluster.servers });
try {
  const rows: string[][] = [];
  const local = () => Wal.open({ dir: path.join(root, `l${streams++}`), sync: 'always' });
  for (const [name, open] of [
    ["local, sync 'always'", local],
    ["replicated, ack 'replicated' (R3)", () => replicated(nats, 'replicated')],
    ["replicated, ack 'local' (R3)", () => replicated(nats, 'local')],
  ] as const) {
    const a = await open();
    const latency = await sequential(a);
    await a.close();
    const b = await open();
    const c1 = await concurrent(b, 1);
    await b.close();
    const c = await open();
    const c64 = await concurrent(c, 64);
    await c.close();
    rows.push([
      name,
      latency.p50.toFixed(2),
      latency.p99.toFixed(2),
      c1.toFixed(0),
      c64.toFixed(0),
    ]);
  }
  console.log(`${ops} puts of 100 bytes per measurement, node ${process.version}\n`);
  console.log('| writer | p50 ms | p99 ms | puts/s, 1 at a time | puts/s, 64 at a time |');
  console.log('|---|---|---|---|---|');
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);

  // Follower lag: 64 lanes of ack 'local' puts; for every 50th sequence, the
  // time from its local acknowledgement to the follower having applied it.
  const wal = await replicated(nats, 'local');
  const table = new Memtable();
  const follower = await Follower.start({
    nats,
    stream: `bench-${process.pid}-${streams - 1}`,
    table,
  });
  const lags: Promise<number>[] = [];
  let next = 0;
  const total = ops * 5;
  const t = performance.now();
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < total) {
        const sequence = await wal.put(`key-${next++}`, value);
        if (sequence % 50 === 0) {
          const acked = performance.now();
          lags.push(follower.waitFor(sequence).then(() => performance.now() - acked));
        }
      }
    }),
  );
  const rate = total / ((performance.now() - t) / 1000);
  const sorted = (await Promise.all(lags)).sort((a, b) => a - b);
  await follower.stop();
  await wal.close();
  console.log(
    `\nfollower lag (local ack to applied), ${total} puts at ${rate.toFixed(0)}/s, 64 at a time: p50 ${quantile(sorted, 0.5).toFixed(1)} ms, p99 ${quantile(sorted, 0.99).toFixed(1)} ms, max ${(sorted.at(-1) ?? 0).toFixed(1)} ms`,
  );
} finally {
  await nats.close();
  if (!given) await cluster.stop();
  rmSync(root, { recursive: true, force: true });
}
