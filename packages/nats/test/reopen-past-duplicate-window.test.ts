import { cpSync } from 'node:fs';
import { createServer, type Server, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { JetStreamApiError, jetstream, jetstreamManager, type StoredMsg } from '@nats-io/jetstream';
import { connect, type NatsConnection, headers as natsHeaders } from '@nats-io/transport-node';
import { nodeFs, Wal } from '@wal/fs';
import { Memtable, replay } from '@wal/memtable';
import { afterAll, describe, expect, test } from 'vitest';
import { Follower, ReplicatedWal } from '../src/index.js';
import { localRecords } from '../src/local-records.js';
import { Publisher, readPosition } from '../src/publisher.js';
import {
  cluster,
  connectCluster,
  streamMessages,
  streamRanges,
  tempDir,
  uniqueName,
  until,
} from './helpers.js';

// A short duplicate window, so the tests wait past it: from then on the server
// no longer answers a resend of a stored record as a duplicate, and only the
// writer's own reading of the stream (and the expectations on each publish)
// keep a record from being stored twice.
const WINDOW_MS = 1_000;

/**
 * A TCP proxy in front of one node: it can stop passing the server's replies
 * (publishes land, acknowledgements never arrive), or hold what the client
 * sends and pass it on later (publishes land late, after another process
 * read the stream).
 */
class TcpRelay {
  readonly #server: Server;
  readonly #sockets: Socket[] = [];
  /** Held client bytes, in order, each with the upstream socket it is for. */
  readonly #held: { upstream: Socket; chunk: Buffer }[] = [];
  #holding = false;
  #holdAt: string | undefined;
  #dropReplies = false;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(target: number): Promise<TcpRelay> {
    let proxy: TcpRelay | undefined;
    const server = createServer((client) => {
      const upstream = new Socket();
      upstream.connect(target, '127.0.0.1');
      (proxy as TcpRelay).#sockets.push(client, upstream);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      client.on('data', (chunk: Buffer) => (proxy as TcpRelay).#fromClient(upstream, chunk));
      upstream.on('data', (chunk: Buffer) => {
        if (!(proxy as TcpRelay).#dropReplies) client.write(chunk);
      });
      client.on('end', () => {
        if (!(proxy as TcpRelay).#holding) upstream.end();
      });
    });
    proxy = new TcpRelay(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get url(): string {
    const address = this.#server.address();
    if (address === null || typeof address === 'string') throw new Error('expected a port');
    return `127.0.0.1:${address.port}`;
  }

  /** What the client sent that is held, as text. */
  get heldText(): string {
    return Buffer.concat(this.#held.map((h) => h.chunk)).toString('latin1');
  }

  get holding(): boolean {
    return this.#holding;
  }

  /** From now on the server's replies (acknowledgements included) are dropped. */
  dropReplies(): void {
    this.#dropReplies = true;
  }

  /** From now on (or from the first client chunk holding `text`) client bytes are held. */
  hold(text?: string): void {
    if (text === undefined) this.#holding = true;
    else this.#holdAt = text;
  }

  /** Sends on every held byte, in order, and passes what comes after. */
  release(): void {
    this.#holding = false;
    this.#holdAt = undefined;
    for (const { upstream, chunk } of this.#held.splice(0)) upstream.write(chunk);
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  #fromClient(upstream: Socket, chunk: Buffer): void {
    if (this.#holdAt !== undefined && chunk.toString('latin1').includes(this.#holdAt)) {
      this.#holding = true;
      this.#holdAt = undefined;
    }
    if (this.#holding) this.#held.push({ upstream, chunk });
    else upstream.write(chunk);
  }
}

const proxies: TcpRelay[] = [];
const proxied: NatsConnection[] = [];
afterAll(async () => {
  await Promise.all(proxied.map((nc) => nc.close().catch(() => undefined)));
  await Promise.all(proxies.map((p) => p.close()));
});

/** A connection through a proxy in front of n1 only: no reconnecting around it. */
async function connectThrough(): Promise<{ proxy: TcpRelay; nc: NatsConnection }> {
  const proxy = await TcpRelay.start((cluster().nodes[0] as { port: number }).port);
  proxies.push(proxy);
  const nc = await connect({
    servers: proxy.url,
    ignoreClusterUpdates: true,
    maxReconnectAttempts: 0,
  });
  proxied.push(nc);
  return { proxy, nc };
}

/**
 * Waits until the server no longer answers a resend of `message` (a stored
 * record, its id, payload and headers) as a duplicate: the duplicate window
 * has passed for it. The resend expects stream sequence 0 (never the last
 * one here), so the server refuses it rather than store it a second time.
 */
async function waitPastWindow(nc: NatsConnection, stream: string, message: StoredMsg) {
  const js = jetstream(nc);
  await sleep(WINDOW_MS);
  await until(async () => {
    const h = natsHeaders();
    for (const name of ['Wal-Log', 'Wal-Sequence', 'Wal-Next', 'Wal-Chain']) {
      h.set(name, message.header.get(name));
    }
    try {
      const ack = await js.publish(`wal.${stream}`, message.data, {
        msgID: message.header.get('Nats-Msg-Id'),
        expect: { lastSequence: 0 },
        headers: h,
      });
      if (!ack.duplicate) throw new Error(`expected no store, found message ${ack.seq}`);
      await sleep(200);
      return false;
    } catch (error) {
      if (error instanceof JetStreamApiError) return true;
      throw error;
    }
  }, `the duplicate window of ${stream} to pass`);
}

/**
 * The stream holds sequences 0..end-1 exactly once, in order, one message
 * each, and a follower starting from a fresh table applies each once, ending
 * equal to a replay of the local log.
 */
async function expectExactlyOnce(nc: NatsConnection, stream: string, dir: string, end: number) {
  const ranges = await streamRanges(nc, stream);
  expect(ranges).toEqual(Array.from({ length: end }, (_, i) => [i, i + 1]));
  const local = new Memtable();
  await replay(dir, local);
  const table = new Memtable();
  const follower = await Follower.start({ nats: nc, stream, table });
  await follower.waitFor(end - 1);
  await follower.stop();
  expect(table.lastSequence).toBe(end - 1);
  expect(follower.applied).toBe(end);
  expect([...table.entries()]).toEqual([...local.entries()]);
}

// The writer before the reopen: it acknowledges locally, so its puts go on
// while the stream is cut off, and it gives up on a publish after 1 s.
function openFirst(dir: string, nats: NatsConnection, stream: string): Promise<ReplicatedWal> {
  return ReplicatedWal.open({
    dir,
    nats,
    stream,
    ack: 'local',
    duplicateWindowMs: WINDOW_MS,
    publishTimeoutMs: 1_000,
  });
}

describe('a writer reopened only after the duplicate window passed', () => {
  test('records the stream stored whose acknowledgements never came are not sent again', async () => {
    const nc = await connectCluster();
    const { proxy, nc: through } = await connectThrough();
    const dir = tempDir();
    const stream = uniqueName('dupwin-acks');
    const first = await openFirst(dir, through, stream);
    for (let i = 0; i < 10; i++) await first.put(`k${i}`, `v${i}`);
    await first.waitReplicated(9);
    proxy.dropReplies();
    for (let i = 10; i < 20; i++) await first.put(`k${i}`, `v${i}`);
    // Stored by the stream, never acknowledged to the writer.
    await until(async () => (await streamRanges(nc, stream)).length === 20, '20 messages stored');
    await first.close({ signal: AbortSignal.timeout(2_000) });
    expect(first.replicatedSequence).toBe(10);

    const messages = await streamMessages(nc, stream);
    await waitPastWindow(nc, stream, messages[19] as StoredMsg);

    const reopened = await ReplicatedWal.open({ dir, nats: nc, stream });
    try {
      expect(reopened.replicatedSequence).toBe(20);
      for (let i = 20; i < 25; i++) expect(await reopened.put(`k${i}`, `v${i}`)).toBe(i);
      expect(reopened.replicationStats).toEqual({ published: 5, duplicates: 0, resyncs: 0 });
    } finally {
      await reopened.close();
    }
    await expectExactlyOnce(nc, stream, dir, 25);
  });

  test('every node SIGKILLed with publishes in flight, down past the window: each record once after the restart', async () => {
    const nats = cluster();
    const nc = await connectCluster();
    const dir = tempDir();
    const stream = uniqueName('dupwin-down');
    const first = await openFirst(dir, nc, stream);
    for (let i = 0; i < 20; i++) await first.put(`k${i}`, `v${i}`);
    await first.waitReplicated(19);
    const names = nats.nodes.map((n) => n.name);
    try {
      // Appended and published while the servers die: some may be stored, unacknowledged.
      const puts = Array.from({ length: 40 }, (_, i) => first.put(`k${20 + i}`, `v${20 + i}`));
      await Promise.all([...names.map((name) => nats.kill(name)), ...puts]);
      await first.close({ signal: AbortSignal.timeout(2_000) });
      // Down for longer than the window: on restart no server remembers these ids.
      await sleep(3 * WINDOW_MS);
    } finally {
      await Promise.all(names.map((name) => nats.restart(name)));
      await nats.waitHealthy();
    }
    const reopened = await ReplicatedWal.open({ dir, nats: nc, stream, publishTimeoutMs: 2_000 });
    try {
      expect(reopened.nextSequence).toBe(60);
      for (let i = 60; i < 65; i++) expect(await reopened.put(`k${i}`, `v${i}`)).toBe(i);
      expect(reopened.replicationStats.duplicates).toBe(0);
    } finally {
      await reopened.close();
    }
    await expectExactlyOnce(nc, stream, dir, 65);
  }, 180_000);

  for (const maxInFlight of [256, 2]) {
    test(`publishes of the old writer landing after the reopened one (maxInFlight ${maxInFlight}) read the stream: each record once`, async () => {
      const nc = await connectCluster();
      const old = await connectThrough();
      const dir = tempDir();
      const stream = uniqueName('dupwin-late');
      const subject = `wal.${stream}`;
      const first = await openFirst(dir, old.nc, stream);
      for (let i = 0; i < 10; i++) await first.put(`k${i}`, `v${i}`);
      await first.waitReplicated(9);
      old.proxy.hold();
      for (let i = 10; i < 20; i++) await first.put(`k${i}`, `v${i}`);
      // Sent by the old writer, held on the way (a partition, an orphaned socket).
      await until(
        () => old.proxy.heldText.split(`HPUB ${subject} `).length - 1 >= 10,
        'ten publishes held',
      );
      await first.close({ signal: AbortSignal.timeout(2_000) });
      expect(first.replicatedSequence).toBe(10);
      const messages = await streamMessages(nc, stream);
      expect(messages.length).toBe(10);
      await waitPastWindow(nc, stream, messages[9] as StoredMsg);

      // The reopened writer reads the stream (10 records), then its first
      // publish is held until the old writer's ten have landed.
      const next = await connectThrough();
      next.proxy.hold(`HPUB ${subject} `);
      const opening = ReplicatedWal.open({
        dir,
        nats: next.nc,
        stream,
        maxInFlight,
        publishTimeoutMs: 60_000,
      });
      await until(() => next.proxy.holding, "the reopened writer's first publish held");
      old.proxy.release();
      await until(async () => (await streamRanges(nc, stream)).length === 20, 'the late ten');
      // And past their window too: the reopened writer's resends of them are
      // no duplicates to the server, only refused by their expectations.
      await waitPastWindow(nc, stream, (await streamMessages(nc, stream))[19] as StoredMsg);
      next.proxy.release();
      const reopened = await opening;
      try {
        for (let i = 20; i < 25; i++) expect(await reopened.put(`k${i}`, `v${i}`)).toBe(i);
        expect(reopened.replicationError).toBeUndefined();
        expect(reopened.replicationStats.duplicates).toBe(0);
      } finally {
        await reopened.close();
      }
      await expectExactlyOnce(nc, stream, dir, 25);
    });
  }
});

describe('the publisher resuming from a read of the stream made before the rest landed, past the window', () => {
  for (const copy of ['agrees', 'diverges'] as const) {
    test(`a local log that ${copy} with the records landed since, beyond what it has in flight: ${copy === 'agrees' ? 'it goes on after them, sending none again' : 'WAL_FENCED, the stream keeps its history'}`, async () => {
      const nc = await connectCluster();
      const jsm = await jetstreamManager(nc);
      const stream = uniqueName(`dupwin-stale-${copy}`);
      const subject = `wal.${stream}`;
      const a = tempDir();
      const first = await ReplicatedWal.open({
        dir: a,
        nats: nc,
        stream,
        duplicateWindowMs: WINDOW_MS,
      });
      for (let i = 0; i < 10; i++) await first.put(`k${i}`, 'a');
      await first.close();
      const b = tempDir();
      cpSync(a, b, { recursive: true });
      const logId = first.logId;
      // What a restarted writer read if it read the stream now.
      const stale = await readPosition(jsm, stream, subject, logId);
      const again = await ReplicatedWal.open({ dir: a, nats: nc, stream });
      for (let i = 10; i < 15; i++) await again.put(`k${i}`, 'a');
      await again.close();
      const messages = await streamMessages(nc, stream);
      expect(messages.length).toBe(15);
      await waitPastWindow(nc, stream, messages[14] as StoredMsg);

      const wal = await Wal.open({ dir: b });
      for (let i = 10; i < 15; i++) await wal.put(`k${i}`, copy === 'agrees' ? 'a' : 'b');
      const end = { segment: wal.segment, size: wal.segmentSize, nextSequence: wal.nextSequence };
      const publisher = new Publisher({
        nats: nc,
        js: jetstream(nc),
        jsm,
        stream,
        subject,
        logId,
        position: stale,
        catchUp: localRecords(nodeFs, b, logId, 10, end),
        waitDurable: (sequence) => wal.waitDurable(sequence),
        timeoutMs: 30_000,
        // Fewer in flight than landed since the read: the stream's last record lies past them.
        maxInFlight: 1,
      });
      try {
        if (copy === 'agrees') {
          await publisher.waitFor(14);
          expect(publisher.error).toBeUndefined();
          expect(publisher.stats.published).toBe(0);
          expect(publisher.stats.duplicates).toBe(0);
        } else {
          await expect(publisher.waitFor(14)).rejects.toMatchObject({ code: 'WAL_FENCED' });
          expect(publisher.error?.code).toBe('WAL_FENCED');
        }
      } finally {
        await publisher.stop();
        await wal.close();
      }
      // One history, each record once: the one the first writer sent.
      await expectExactlyOnce(nc, stream, a, 15);
    });
  }
});
