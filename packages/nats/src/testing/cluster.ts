import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** One nats-server of a {@link NatsCluster}. */
export interface NatsNode {
  /** `server_name`, also the name of its files: `<name>.conf`, `<name>.pid`, `<name>.log`. */
  name: string;
  /** Client port on 127.0.0.1. */
  port: number;
  /** Route port on 127.0.0.1. */
  clusterPort: number;
  /** HTTP monitoring port on 127.0.0.1 (`/healthz`, `/jsz`). */
  monitorPort: number;
  /** The node's config file. */
  config: string;
  /** Its JetStream store directory. */
  storeDir: string;
  /** The running server's pid, or null while it is stopped. */
  pid: number | null;
}

/** What `cluster.json` in the cluster's directory holds. */
export interface ClusterDescription {
  dir: string;
  nodes: NatsNode[];
}

/** Options of {@link NatsCluster.start}. */
export interface StartClusterOptions {
  /** Where configs, stores, logs, pid files and `cluster.json` go. Created if missing. */
  dir: string;
  /** Number of servers. Default 3. */
  size?: number;
  /** The nats-server binary. Default `nats-server` on PATH. */
  binary?: string;
  /** How long to wait for every `/healthz` and a meta leader, in ms. Default 30 000. */
  timeoutMs?: number;
}

const DESCRIPTION = 'cluster.json';

/**
 * A JetStream cluster of nats-server processes on loopback ports, for tests
 * and demos. Every server is started by this class (or by another process
 * through the same `cluster.json`) and stopped by its pid, never by name.
 */
export class NatsCluster {
  readonly dir: string;
  readonly nodes: NatsNode[];
  readonly #binary: string;

  private constructor(description: ClusterDescription, binary: string) {
    this.dir = description.dir;
    this.nodes = description.nodes;
    this.#binary = binary;
  }

  /** Writes one config per node, starts every server and waits until the cluster has a meta leader. */
  static async start(options: StartClusterOptions): Promise<NatsCluster> {
    const dir = path.resolve(options.dir);
    const size = options.size ?? 3;
    mkdirSync(dir, { recursive: true });
    const ports = await freePorts(size * 3);
    const nodes: NatsNode[] = [];
    for (let i = 0; i < size; i++) {
      const name = `n${i + 1}`;
      nodes.push({
        name,
        port: ports[i * 3] as number,
        clusterPort: ports[i * 3 + 1] as number,
        monitorPort: ports[i * 3 + 2] as number,
        config: path.join(dir, `${name}.conf`),
        storeDir: path.join(dir, name),
        pid: null,
      });
    }
    for (const node of nodes) writeFileSync(node.config, configOf(node, nodes));
    const cluster = new NatsCluster({ dir, nodes }, options.binary ?? 'nats-server');
    try {
      for (const node of nodes) cluster.#spawn(node);
      await cluster.waitHealthy(options.timeoutMs);
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** A cluster another process started, from the `cluster.json` in `dir` (or that file's path). */
  static attach(dirOrFile: string, binary = 'nats-server'): NatsCluster {
    const file = dirOrFile.endsWith('.json') ? dirOrFile : path.join(dirOrFile, DESCRIPTION);
    const description = JSON.parse(readFileSync(file, 'utf8')) as ClusterDescription;
    return new NatsCluster(description, binary);
  }

  /** Client URLs of the nodes, for `connect({ servers })`. */
  get servers(): string[] {
    return this.nodes.map((node) => `127.0.0.1:${node.port}`);
  }

  /** The node called `name` (`n1`, `n2`, ...). */
  node(name: string): NatsNode {
    const node = this.nodes.find((n) => n.name === name);
    if (!node)
      throw new Error(
        `expected a node named ${name}, found ${this.nodes.map((n) => n.name).join(', ')}`,
      );
    return node;
  }

  /** Sends `signal` (default SIGKILL) to the node's server and waits until it has exited. */
  async kill(name: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const node = this.node(name);
    const { pid } = node;
    if (pid === null) return;
    if (isOurServer(pid, node)) {
      process.kill(pid, signal);
      await waitExit(pid, 10_000);
    }
    node.pid = null;
    this.#save();
  }

  /** Starts a stopped node again with its config and store, and waits for its `/healthz`. */
  async restart(name: string, timeoutMs = 30_000): Promise<void> {
    const node = this.node(name);
    if (node.pid !== null && isOurServer(node.pid, node)) return;
    this.#spawn(node);
    await waitFor(timeoutMs, `${name}'s /healthz`, () => healthy(node));
  }

  /** Waits until every running node answers `/healthz` and they agree on a meta leader. */
  async waitHealthy(timeoutMs = 30_000): Promise<void> {
    const running = this.nodes.filter((n) => n.pid !== null);
    await waitFor(timeoutMs, 'every /healthz and a meta leader', async () => {
      for (const node of running) if (!(await healthy(node))) return false;
      const leaders = await Promise.all(running.map((node) => metaLeader(node)));
      return leaders[0] !== undefined && leaders.every((l) => l === leaders[0]);
    });
  }

  /** The name of the server leading `stream`, as the monitoring endpoint reports it. */
  async streamLeader(stream: string, timeoutMs = 30_000): Promise<string> {
    let leader: string | undefined;
    await waitFor(timeoutMs, `a leader for stream ${stream}`, async () => {
      for (const node of this.nodes.filter((n) => n.pid !== null)) {
        leader = await streamLeaderOf(node, stream);
        if (leader) return true;
      }
      return false;
    });
    return leader as string;
  }

  /** Stops every node by its pid (SIGTERM, then SIGKILL after 5 s). */
  async stop(): Promise<void> {
    await Promise.all(
      this.nodes.map(async (node) => {
        const { pid } = node;
        if (pid === null || !isOurServer(pid, node)) return;
        process.kill(pid, 'SIGTERM');
        if (!(await waitExit(pid, 5_000))) {
          process.kill(pid, 'SIGKILL');
          await waitExit(pid, 5_000);
        }
      }),
    );
    for (const node of this.nodes) node.pid = null;
    this.#save();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  #spawn(node: NatsNode): void {
    const log = openSync(path.join(this.dir, `${node.name}.log`), 'a');
    const child: ChildProcess = spawn(this.#binary, ['-c', node.config], {
      detached: true,
      stdio: ['ignore', log, log],
    });
    child.unref();
    if (child.pid === undefined) throw new Error(`expected ${this.#binary} to start, found no pid`);
    node.pid = child.pid;
    writeFileSync(path.join(this.dir, `${node.name}.pid`), `${child.pid}\n`);
    this.#save();
  }

  #save(): void {
    const description: ClusterDescription = { dir: this.dir, nodes: this.nodes };
    writeFileSync(path.join(this.dir, DESCRIPTION), `${JSON.stringify(description, null, 2)}\n`);
  }
}

function configOf(node: NatsNode, nodes: NatsNode[]): string {
  const routes = nodes
    .filter((other) => other !== node)
    .map((other) => `nats-route://127.0.0.1:${other.clusterPort}`);
  return [
    `server_name: ${node.name}`,
    `listen: 127.0.0.1:${node.port}`,
    `http: 127.0.0.1:${node.monitorPort}`,
    `jetstream { store_dir: ${JSON.stringify(node.storeDir)} }`,
    'cluster {',
    '  name: wal',
    `  listen: 127.0.0.1:${node.clusterPort}`,
    `  routes: [${routes.join(', ')}]`,
    '}',
    '',
  ].join('\n');
}

async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as { port: number }).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

async function monitor(node: NatsNode, route: string): Promise<unknown> {
  try {
    const response = await fetch(`http://127.0.0.1:${node.monitorPort}${route}`, {
      signal: AbortSignal.timeout(2_000),
    });
    return response.ok ? await response.json() : undefined;
  } catch {
    return undefined;
  }
}

async function healthy(node: NatsNode): Promise<boolean> {
  const body = (await monitor(node, '/healthz')) as { status?: string } | undefined;
  return body?.status === 'ok';
}

async function metaLeader(node: NatsNode): Promise<string | undefined> {
  const body = (await monitor(node, '/jsz')) as { meta_cluster?: { leader?: string } } | undefined;
  return body?.meta_cluster?.leader || undefined;
}

async function streamLeaderOf(node: NatsNode, stream: string): Promise<string | undefined> {
  const body = (await monitor(node, '/jsz?streams=true')) as
    | {
        account_details?: {
          stream_detail?: { name: string; cluster?: { leader?: string } }[];
        }[];
      }
    | undefined;
  for (const account of body?.account_details ?? []) {
    for (const detail of account.stream_detail ?? []) {
      if (detail.name === stream && detail.cluster?.leader) return detail.cluster.leader;
    }
  }
  return undefined;
}

// A pid is only signalled while it still runs nats-server with this node's
// config: a pid file outlives its process, and pids are reused.
function isOurServer(pid: number, node: NatsNode): boolean {
  const cmdline = `/proc/${pid}/cmdline`;
  if (existsSync('/proc/self/cmdline')) {
    try {
      return readFileSync(cmdline, 'utf8').split('\0').includes(node.config);
    } catch {
      return false;
    }
  }
  return alive(pid);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive(pid) || isZombie(pid)) return true;
    await sleep(20);
  }
  return false;
}

// A detached child that exited stays a zombie until its parent reaps it.
function isZombie(pid: number): boolean {
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function waitFor(
  timeoutMs: number,
  what: string,
  check: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`expected ${what} within ${timeoutMs} ms, found none`);
    await sleep(50);
  }
}
