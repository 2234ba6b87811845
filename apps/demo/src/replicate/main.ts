// `pnpm demo:replicate`: a three-node JetStream cluster on loopback, a writer
// (a child process, archiving its sealed segments too) and a follower (here).
// The stream's leader and the writer are SIGKILLed mid-stream; then the
// follower must hold every record the writer acknowledged as replicated, a
// restarted writer must publish what the kill cut short, and a fresh
// directory restored from the archive must equal the log's sealed segments
// byte for byte. Exits 1 if a check fails. Needs nats-server on PATH.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { connect } from '@nats-io/transport-node';
import { listSealedSegments } from '@wal/fs';
import { Memtable } from '@wal/memtable';
import { Follower, ObjectStoreArchive, ReplicatedWal } from '@wal/nats';
import { NatsCluster } from '@wal/nats/testing';
import { restoreLog, scanLog } from '@wal/recovery';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '3000' },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  process.stdout.write(`Usage: pnpm demo:replicate [--records N] [--keep]

Starts a three-node nats-server JetStream cluster on loopback ports, a writer
replicating its log to a stream and its sealed segments to an Object Store,
and a follower replaying the stream into a Memtable. After N acknowledged
records it SIGKILLs the stream's leader, after N more the writer; then it
checks the follower, restarts the writer, and restores the archive into a
fresh directory.

  --records N  acknowledged records before each kill (default 3000)
  --keep       keep the temp directory (logs, stores, restored copy)
`);
  process.exit(0);
}
const perPhase = Number(values.records);

const here = path.dirname(fileURLToPath(import.meta.url));
const tsx = pathToFileURL(path.resolve(here, '../../../../node_modules/tsx/dist/loader.mjs')).href;
const root = mkdtempSync(path.join(os.tmpdir(), 'wal-replicate-'));
const logDir = path.join(root, 'log');
const stream = 'demo';
const bucket = 'demo-segments';
let failed = false;

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function check(ok: boolean, what: string): void {
  say(`  ${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failed = true;
}

interface Child {
  process: ChildProcess;
  lines: string[];
  onLine: Set<() => void>;
}

function start(script: string, options: object): Child {
  const child = spawn(
    process.execPath,
    ['--conditions=@wal/source', '--import', tsx, path.join(here, script), JSON.stringify(options)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines: string[] = [];
  const onLine = new Set<() => void>();
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    lines.push(line);
    for (const f of onLine) f();
  });
  return { process: child, lines, onLine };
}

function until(child: Child, done: () => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const f = () => {
      if (done()) {
        child.onLine.delete(f);
        resolve();
      }
    };
    child.process.once('exit', (code) => reject(new Error(`the child exited (${code}) early`)));
    child.onLine.add(f);
    f();
  });
}

async function kill(child: Child): Promise<void> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return;
  const exited = new Promise((resolve) => child.process.once('exit', resolve));
  child.process.kill('SIGKILL');
  await exited;
}

const acked = (writer: Child) => writer.lines.filter((l) => l.startsWith('acked ')).length;
const maxAcked = (writer: Child) =>
  Math.max(
    -1,
    ...writer.lines.filter((l) => l.startsWith('acked ')).map((l) => Number(l.slice(6))),
  );
/** The stream's last message in one node's own replica (its monitoring endpoint). */
async function replicaLastSeq(monitorPort: number): Promise<number | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${monitorPort}/jsz?streams=true`);
    const body = (await response.json()) as {
      account_details?: { stream_detail?: { name: string; state: { last_seq: number } }[] }[];
    };
    const details = body.account_details?.flatMap((a) => a.stream_detail ?? []) ?? [];
    return details.find((d) => d.name === stream)?.state.last_seq;
  } catch {
    return undefined;
  }
}

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
const fingerprint = (table: Memtable) =>
  sha256(
    Buffer.from(JSON.stringify([...table.entries()].map(([k, v]) => [sha256(k), v && sha256(v)]))),
  );

say(`@wal replication demo (in ${root})\n`);
say('1. a three-node JetStream cluster on loopback');
const cluster = await NatsCluster.start({ dir: path.join(root, 'nats') });
for (const node of cluster.nodes) say(`  ${node.name}: 127.0.0.1:${node.port}, pid ${node.pid}`);
const nats = await connect({
  servers: cluster.servers,
  maxReconnectAttempts: -1,
  reconnectTimeWait: 100,
});
let writer: Child | undefined;
let follower: Follower | undefined;
try {
  say('\n2. a writer (ack: replicated, archiving sealed segments) and a follower');
  const options = { dir: logDir, stream, bucket, servers: cluster.servers };
  const w = start('writer.ts', options);
  writer = w;
  await until(w, () => acked(w) > 0);
  const table = new Memtable();
  follower = await Follower.start({ nats, stream, table });
  await until(w, () => acked(w) >= perPhase);
  const leader = await cluster.streamLeader(stream);
  say(`  ${acked(w)} records acknowledged as replicated`);

  say(`\n3. SIGKILL of ${leader}, the stream's leader, mid-stream`);
  await cluster.kill(leader);
  const atKill = acked(w);
  await until(w, () => acked(w) >= atKill + perPhase);
  say(
    `  the writer went on under leader ${await cluster.streamLeader(stream)}: ${acked(w) - atKill} more acknowledged`,
  );

  say('\n4. SIGKILL of the writer, mid-stream');
  await kill(w);
  const last = maxAcked(w);
  say(`  it had ${acked(w)} acknowledgements, the last for sequence ${last}`);

  say('\n5. the follower holds every record acknowledged as replicated');
  await follower.waitFor(last, AbortSignal.timeout(60_000));
  const held = follower.lastSequence as number;
  // The log may hold more: records durable here whose publish the kill cut short.
  const expected = new Memtable();
  for await (const entry of scanLog(logDir, { toSequence: held })) expected.apply(entry);
  const same = fingerprint(table) === fingerprint(expected);
  check(held >= last, `follower at sequence ${held} >= the last acknowledged, ${last}`);
  check(same, `its table (${table.size} keys) equals the writer's log replayed through ${held}`);

  say(`\n6. ${leader} restarted; its replica catches up`);
  await cluster.restart(leader);
  await cluster.waitHealthy();
  const newLeader = cluster.node(await cluster.streamLeader(stream));
  const target = (await replicaLastSeq(newLeader.monitorPort)) ?? -1;
  const deadline = Date.now() + 60_000;
  let caught = await replicaLastSeq(cluster.node(leader).monitorPort);
  while (caught !== target && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    caught = await replicaLastSeq(cluster.node(leader).monitorPort);
  }
  check(
    caught === target,
    `${leader}'s copy of the stream reached message ${target}, as the leader's`,
  );

  say('\n7. the writer restarted: it publishes what the kill cut short, its archiver resumes');
  const archive = await ObjectStoreArchive.open({ nats, bucket });
  const again = await ReplicatedWal.open({
    dir: logDir,
    nats,
    stream,
    archive: { target: archive },
  });
  const end = again.nextSequence - 1;
  await again.rotate();
  await again.archiver?.idle();
  await again.close();
  say(`  ${again.replicationStats.published} records published on restart, the log ends at ${end}`);
  await follower.waitFor(end, AbortSignal.timeout(60_000));
  const whole = new Memtable();
  for await (const entry of scanLog(logDir)) whole.apply(entry);
  check(
    fingerprint(table) === fingerprint(whole),
    `the follower now holds the whole log, through ${end}`,
  );

  say('\n8. a fresh directory restored from the Object Store archive');
  const sealed = await listSealedSegments(logDir);
  const restored = await restoreLog({ target: archive, dir: path.join(root, 'restored') });
  check(
    restored.segments.length === sealed.length &&
      restored.segments.every((s, i) => s.segment === sealed[i]?.segment),
    `${restored.segments.length} segments restored, the ${sealed.length} the log has sealed`,
  );
  const identical = sealed.every(
    ({ file }) =>
      sha256(readFileSync(path.join(restored.dir, path.basename(file)))) ===
      sha256(readFileSync(file)),
  );
  check(identical, "each is byte for byte the writer's segment");
  let entries = 0;
  for await (const _ of scanLog(restored.dir)) entries++;
  say(
    `  the restored log reads back: ${entries} entries, through sequence ${restored.lastSequence}`,
  );
} finally {
  await follower?.stop();
  if (writer) await kill(writer);
  await nats.close();
  await cluster.stop();
  if (!values.keep) rmSync(root, { recursive: true, force: true });
}
say(failed ? '\nFAILED' : '\nall checks passed');
process.exit(failed ? 1 : 0);
