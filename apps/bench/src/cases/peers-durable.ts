import path from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  describeWrites,
  driveWrites,
  keyFor,
  randomBytes,
  removeDir,
  type SliceCase,
  tempDir,
  type WriteMode,
} from '../harness.js';
import { peer } from '../peers.js';

interface Level {
  open(): Promise<void>;
  close(): Promise<void>;
  put(key: Uint8Array, value: Uint8Array, options: { sync: boolean }): Promise<void>;
  batch(
    ops: { type: 'put'; key: Uint8Array; value: Uint8Array }[],
    options: { sync: boolean },
  ): Promise<void>;
}

/** classic-level (LevelDB and its own log): puts at a concurrency, or batches of 100. */
export function classicLevel(valueBytes: number, mode: WriteMode & { sync: boolean }): SliceCase {
  let dir = '';
  let db: Level;
  const value = randomBytes(valueBytes, 3);
  return {
    name: `classic-level: ${describeWrites(mode)}, sync:${mode.sync} (${valueBytes} B)`,
    async setup() {
      dir = tempDir('level');
      const { ClassicLevel } = peer<{ ClassicLevel: new (p: string, o: object) => Level }>(
        'classic-level',
      );
      db = new ClassicLevel(path.join(dir, 'db'), {
        keyEncoding: 'buffer',
        valueEncoding: 'buffer',
      });
      await db.open();
    },
    run: (ms) =>
      driveWrites(mode, ms, value, {
        put: (k, v) => db.put(k, v, { sync: mode.sync }),
        batch: (ops) => db.batch(ops, { sync: mode.sync }),
      }),
    async teardown() {
      await db.close();
      removeDir(dir);
    },
  };
}

interface Statement {
  run(...args: unknown[]): unknown;
}
interface Database {
  pragma(s: string): unknown;
  exec(s: string): void;
  prepare(s: string): Statement;
  transaction(fn: () => void): () => void;
  close(): void;
}

/** better-sqlite3 in WAL mode, an append-only table. */
export function sqlite(
  valueBytes: number,
  mode: { synchronous: 'FULL' | 'NORMAL'; transaction: number },
): SliceCase {
  let dir = '';
  let db: Database;
  let insert: Statement;
  const value = randomBytes(valueBytes, 4);
  let i = 0;
  const what = mode.transaction > 1 ? `transactions of ${mode.transaction}` : 'autocommit';
  return {
    name: `better-sqlite3 WAL: synchronous=${mode.synchronous}, ${what} (${valueBytes} B)`,
    async setup() {
      dir = tempDir('sqlite');
      const Sqlite = peer<new (p: string) => Database>('better-sqlite3');
      db = new Sqlite(path.join(dir, 'db.sqlite'));
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${mode.synchronous}`);
      db.exec('CREATE TABLE log (seq INTEGER PRIMARY KEY, key BLOB, value BLOB)');
      insert = db.prepare('INSERT INTO log (key, value) VALUES (?, ?)');
    },
    async run(ms) {
      const deadline = performance.now() + ms;
      const size = mode.transaction;
      const many = db.transaction(() => {
        for (let k = 0; k < size; k++) insert.run(keyFor(i++), value);
      });
      let n = 0;
      while (performance.now() < deadline) {
        if (size > 1) many();
        else insert.run(keyFor(i++), value);
        n += size;
      }
      return n;
    },
    async teardown() {
      db.close();
      removeDir(dir);
    },
  };
}
