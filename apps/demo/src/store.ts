import fs from 'node:fs';
import path from 'node:path';
import { type BytesLike, toBytes } from '@wal/codec';
import { type BatchOp, Wal } from '@wal/fs';
import { Memtable, replay } from '@wal/memtable';
import type { RecoveryStats } from '@wal/recovery';

const SNAPSHOT = 'snapshot.json';

interface Snapshot {
  lastSequence: number | null;
  /** The log the snapshot is of: replay refuses a log a writer started anew. */
  logId: string;
  /** The log's last repair the table saw: replay refuses a later one from a floor below the snapshot. */
  incident: number | null;
  /** [key, value] in base64; only live entries (a snapshot is the whole state). */
  entries: [string, string][];
}

/** What loading found: the table, and what replay said. */
export interface Loaded {
  table: Memtable;
  stats: RecoveryStats;
  /** Entries applied from the log on top of the snapshot. */
  applied: number;
}

/**
 * A tiny key-value store wired the way an app would wire @wal: the log is
 * written first, then the table; on start, the last snapshot is loaded and
 * the log replayed on top of it. A checkpoint writes the table to a snapshot
 * (temp file, fsync, rename, fsync dir) and only then lets the log drop the
 * segments it covers.
 */
export class Store {
  readonly #dir: string;
  readonly #wal: Wal;
  readonly table: Memtable;

  private constructor(dir: string, wal: Wal, table: Memtable) {
    this.#dir = dir;
    this.#wal = wal;
    this.table = table;
  }

  static async open(dir: string, options: { maxSegmentBytes?: number } = {}): Promise<Store> {
    fs.mkdirSync(dir, { recursive: true });
    // Opening the writer first cuts a torn tail, so replay sees a clean log.
    const wal = await Wal.open({ dir: walDir(dir), sync: 'always', ...options });
    try {
      const { table } = await Store.load(dir);
      return new Store(dir, wal, table);
    } catch (error) {
      await wal.close();
      throw error;
    }
  }

  /** Rebuilds the table from the snapshot and the log, without opening a writer. */
  static async load(dir: string): Promise<Loaded> {
    const table = readSnapshot(dir);
    const result = await replay(walDir(dir), table, { mode: 'tolerate-tail', ifMissing: 'empty' });
    return { table, stats: result.stats, applied: result.applied };
  }

  get nextSequence(): number {
    return this.#wal.nextSequence;
  }

  async put(key: BytesLike, value: BytesLike): Promise<number> {
    const sequence = await this.#wal.put(key, value);
    this.table.apply({
      sequence,
      type: 'put',
      key: toBytes(key, 'key'),
      value: toBytes(value, 'value'),
    });
    return sequence;
  }

  async delete(key: BytesLike): Promise<number> {
    const sequence = await this.#wal.delete(key);
    this.table.apply({ sequence, type: 'delete', key: toBytes(key, 'key') });
    return sequence;
  }

  /** An atomic batch; resolves to its first sequence. */
  async batch(ops: BatchOp[]): Promise<number> {
    const first = await this.#wal.batch(ops);
    ops.forEach((op, i) => {
      const key = toBytes(op.key, 'key');
      this.table.apply(
        op.type === 'put'
          ? { sequence: first + i, type: 'put', key, value: toBytes(op.value, 'value') }
          : { sequence: first + i, type: 'delete', key },
      );
    });
    return first;
  }

  /** Flushes the table to a snapshot, then truncates the log it covers. */
  async checkpoint(): Promise<number> {
    const covered = this.table.lastSequence;
    if (covered === null) return 0;
    // The snapshot must not get ahead of the log (under 'interval' or 'none').
    await this.#wal.sync();
    const snapshot: Snapshot = {
      lastSequence: covered,
      logId: this.#wal.logId,
      incident: this.table.incident,
      entries: [],
    };
    for (const [key, value] of this.table.range()) {
      snapshot.entries.push([
        Buffer.from(key).toString('base64'),
        Buffer.from(value).toString('base64'),
      ]);
    }
    writeDurably(path.join(this.#dir, SNAPSHOT), JSON.stringify(snapshot));
    return this.#wal.truncateThrough(covered);
  }

  close(): Promise<void> {
    return this.#wal.close();
  }
}

export function walDir(dir: string): string {
  return path.join(dir, 'wal');
}

function readSnapshot(dir: string): Memtable {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, SNAPSHOT), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Memtable();
    throw error;
  }
  const snapshot = JSON.parse(text) as Snapshot;
  // The table holds everything up to the snapshot, so replay skips it.
  const { lastSequence, logId, incident } = snapshot;
  const table = new Memtable({ lastSequence, logId, incident });
  for (const [key, value] of snapshot.entries) {
    table.put(Buffer.from(key, 'base64'), Buffer.from(value, 'base64'));
  }
  return table;
}

function writeDurably(file: string, text: string): void {
  const temp = `${file}.tmp`;
  const fd = fs.openSync(temp, 'w');
  try {
    fs.writeFileSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temp, file);
  const dirFd = fs.openSync(path.dirname(file), 'r');
  try {
    fs.fsyncSync(dirFd);
  } finally {
    fs.closeSync(dirFd);
  }
}
