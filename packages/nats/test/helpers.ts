import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { jetstreamManager, type StoredMsg } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, inject } from 'vitest';
import { NatsCluster, type NatsNode } from '../src/testing/index.js';

/** The cluster the global setup started (re-read: another file may have restarted a node). */
export function cluster(): NatsCluster {
  return NatsCluster.attach(inject('natsCluster'));
}

const connections: NatsConnection[] = [];
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(connections.map((nc) => nc.close()));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A connection to every node, reconnecting for as long as the test runs; closed after the file. */
export async function connectCluster(): Promise<NatsConnection> {
  const nc = await connect({
    servers: cluster().servers,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 100,
  });
  connections.push(nc);
  return nc;
}

/** A stream (or bucket) name no other test uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** A fresh temp directory, removed after the file. */
export function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wal-nats-test-'));
  dirs.push(dir);
  return dir;
}

/** Every message of a stream, in order. */
export async function streamMessages(nc: NatsConnection, stream: string): Promise<StoredMsg[]> {
  const jsm = await jetstreamManager(nc);
  const { state } = await jsm.streams.info(stream);
  const out: StoredMsg[] = [];
  for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
    const message = await jsm.streams.getMessage(stream, { seq });
    if (message) out.push(message);
  }
  return out;
}

/** The [first, next) sequence ranges of a stream's record messages, in stream order. */
export async function streamRanges(
  nc: NatsConnection,
  stream: string,
): Promise<[number, number][]> {
  return (await streamMessages(nc, stream)).map((m) => [
    Number(m.header.get('Wal-Sequence')),
    Number(m.header.get('Wal-Next')),
  ]);
}

/** The stream's state in one node's own replica, from its monitoring endpoint (undefined while it has none). */
export async function replicaState(
  node: NatsNode,
  stream: string,
): Promise<{ messages: number; last_seq: number } | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${node.monitorPort}/jsz?streams=true`, {
      signal: AbortSignal.timeout(2_000),
    });
    const body = (await response.json()) as {
      account_details?: {
        stream_detail?: { name: string; state: { messages: number; last_seq: number } }[];
      }[];
    };
    for (const account of body.account_details ?? []) {
      for (const detail of account.stream_detail ?? []) {
        if (detail.name === stream) return detail.state;
      }
    }
  } catch {
    // Not up yet.
  }
  return undefined;
}

/** Polls `check` every 50 ms until it holds, for up to `timeoutMs`. */
export async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`expected ${what} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
