import { codecName } from './cases/codec.js';
import { classicLevel, sqlite } from './cases/peers-durable.js';
import { naiveWal, rawFdatasync, rawFdatasyncCallbacks } from './cases/physical.js';
import { readerName } from './cases/read-path.js';
import { walWrites } from './cases/wal-writes.js';
import type { CaseResult } from './harness.js';
import { LOOP_UNITS } from './loop-delay.js';

/** A row of the results: its name and unit. */
export interface RowKey {
  name: string;
  unit: string;
}

/** One condition on a target's measured median. */
export type Need =
  /** measured / of >= value */
  | { kind: 'ratio>='; of: RowKey; value: number; label?: string }
  /** measured <= of's median (both in one unit) */
  | { kind: '<=row'; of: RowKey; label: string }
  /** measured - of <= value (peak RSS over a baseline) */
  | { kind: 'excess<='; of: RowKey; value: number }
  | { kind: '<='; value: number }
  | { kind: '>='; value: number };

/** A target from the issues, checked on figures from one run. */
export interface Target {
  id: string;
  what: string;
  measured: RowKey;
  needs: Need[];
  /** 'any': one need suffices. Default: every need must hold. */
  combine?: 'all' | 'any' | undefined;
}

export interface NeedResult {
  /** The ratio, the excess, or the measured value; undefined when a row is missing. */
  got: number | undefined;
  /** The other row's median, for `<=row`. */
  versus?: number;
  pass: boolean;
}

export interface TargetResult extends Target {
  results: NeedResult[];
  pass: boolean;
}

/** Labels of the logs the read path measured, as in its row names. */
export interface TargetLogs {
  /** The 100 B log (256 MiB in a full run). */
  small: string;
  /** The 1 KiB log. */
  large: string;
  /** The 100 B, 64-segment log (1 GiB in a full run). */
  big: string;
}

const ops = (name: string): RowKey => ({ name, unit: 'ops/s' });

// Every name comes from the case that makes the row, so a renamed case cannot
// leave a target reading nothing. Building a case does no I/O.
export function targets(memtableKeys: number, logs: TargetLogs): Target[] {
  const V = 100;
  const walPut = (n: number) => walWrites(V, { concurrency: n, sync: 'always' }).name;
  const levelPut = (n: number) => classicLevel(V, { concurrency: n, sync: true }).name;
  const batch = ops(walWrites(V, { concurrency: 1, sync: 'always', batch: 100 }).name);
  const scan = (log: string, unit: string) => ({ name: readerName('scan', log), unit });
  const rssBase = (log: string) => ({ name: readerName('baseline', log), unit: 'peak RSS MiB' });
  const map = (who: string, op: string) => ops(`ordered map: ${who}, ${op} (${memtableKeys} keys)`);
  return [
    {
      id: '1',
      what: 'durable put x256 vs classic-level sync:true x256',
      measured: ops(walPut(256)),
      needs: [{ kind: 'ratio>=', of: ops(levelPut(256)), value: 60 }],
    },
    {
      id: '2a',
      what: 'batch(100) vs better-sqlite3 FULL transactions of 100',
      measured: batch,
      needs: [
        {
          kind: 'ratio>=',
          of: ops(sqlite(V, { synchronous: 'FULL', transaction: 100 }).name),
          value: 1.5,
        },
      ],
    },
    {
      id: '2b',
      what: 'batch(100) vs classic-level batch(100) sync:true',
      measured: batch,
      needs: [
        {
          kind: 'ratio>=',
          of: ops(classicLevel(V, { concurrency: 1, sync: true, batch: 100 }).name),
          value: 5,
        },
      ],
    },
    {
      id: '3',
      what: 'durable put, one writer vs raw writeSync+fdatasync',
      measured: ops(walPut(1)),
      needs: [{ kind: 'ratio>=', of: ops(rawFdatasync(V).name), value: 0.9 }],
    },
    {
      id: '3a',
      what: 'durable put, one writer vs raw fs.write+fs.fdatasync callbacks',
      measured: ops(walPut(1)),
      needs: [
        {
          kind: 'ratio>=',
          of: ops(rawFdatasyncCallbacks(V).name),
          value: 0.95,
        },
      ],
    },
    {
      id: '3b',
      what: 'durable put x16 vs classic-level sync:true x16',
      measured: ops(walPut(16)),
      needs: [{ kind: 'ratio>=', of: ops(levelPut(16)), value: 5 }],
    },
    {
      id: '4',
      what: "'none' x256 vs naive writer without fsync",
      measured: ops(walWrites(V, { concurrency: 256, sync: 'none' }).name),
      needs: [{ kind: 'ratio>=', of: ops(naiveWal(V, false).name), value: 3 }],
    },
    {
      id: '5a',
      what: `scanLog batches() MB/s vs the naive load-all reader (${logs.small})`,
      measured: scan(logs.small, 'MB/s'),
      needs: [
        {
          kind: 'ratio>=',
          of: { name: readerName('naive', logs.small), unit: 'MB/s' },
          value: 2,
        },
      ],
    },
    {
      id: "5a'",
      what: `scanLog batches() MB/s (${logs.large}): 1 GB/s, or 0.6x the codec's decode`,
      measured: scan(logs.large, 'MB/s'),
      combine: 'any',
      needs: [
        { kind: '>=', value: 1000 },
        {
          kind: 'ratio>=',
          of: { name: codecName('decode', 1024), unit: 'MB/s' },
          value: 0.6,
          label: 'decode',
        },
      ],
    },
    ...[logs.small, logs.big].map(
      (log): Target => ({
        id: '5b',
        what: `scan peak RSS over Node with the modules loaded, MiB (${log})`,
        measured: scan(log, 'peak RSS MiB'),
        needs: [{ kind: 'excess<=', of: rssBase(log), value: 64 }],
      }),
    ),
    {
      id: '6',
      what: `replay into a Memtable vs the scan, entries/s (${logs.small})`,
      measured: { name: readerName('replay', logs.small), unit: 'entries/s' },
      needs: [{ kind: 'ratio>=', of: scan(logs.small, 'entries/s'), value: 0.7 }],
    },
    {
      id: '7a',
      what: 'memtable B+-tree put vs sorted-btree',
      measured: map('@wal B+-tree', 'put'),
      needs: [{ kind: 'ratio>=', of: map('sorted-btree', 'put'), value: 1 }],
    },
    {
      id: '7b',
      what: 'memtable B+-tree get vs sorted-btree',
      measured: map('@wal B+-tree', 'get'),
      needs: [{ kind: 'ratio>=', of: map('sorted-btree', 'get'), value: 1 }],
    },
    {
      id: '7c',
      what: 'Memtable.put (Uint8Array keys, copied values) vs sorted-btree, same key handling',
      measured: map('@wal Memtable (Uint8Array keys)', 'put'),
      needs: [
        {
          kind: 'ratio>=',
          of: map('sorted-btree (Uint8Array keys, copied values)', 'put'),
          value: 1.5,
        },
      ],
    },
    {
      id: '8',
      what: 'event-loop delay p99 (ms) during durable put x256',
      measured: { name: walPut(256), unit: LOOP_UNITS.p99 },
      needs: [
        {
          kind: '<=row',
          of: { name: levelPut(256), unit: LOOP_UNITS.p99 },
          label: 'classic-level',
        },
        { kind: '<=', value: 2 },
      ],
    },
    {
      id: '9',
      what: 'event-loop delay p99 (ms) during durable put x1',
      measured: { name: walPut(1), unit: LOOP_UNITS.p99 },
      needs: [{ kind: '<=', value: 1 }],
    },
  ];
}

/** The median of the row `key`, if the run has it. */
export function median(results: CaseResult[], key: RowKey): number | undefined {
  return results.find((r) => r.name === key.name && r.unit === key.unit)?.median;
}

function checkNeed(results: CaseResult[], a: number | undefined, need: Need): NeedResult {
  if (a === undefined) return { got: undefined, pass: false };
  if (need.kind === '<=') return { got: a, pass: a <= need.value };
  if (need.kind === '>=') return { got: a, pass: a >= need.value };
  const b = median(results, need.of);
  if (b === undefined) return { got: undefined, pass: false };
  if (need.kind === 'excess<=') return { got: a - b, pass: a - b <= need.value };
  if (need.kind === '<=row') return { got: a, versus: b, pass: a <= b };
  const ratio = b ? a / b : undefined;
  return { got: ratio, pass: ratio !== undefined && ratio >= need.value };
}

export function checkTargets(results: CaseResult[], list: Target[]): TargetResult[] {
  return list.map((t) => {
    const a = median(results, t.measured);
    const checked = t.needs.map((need) => checkNeed(results, a, need));
    const pass = t.combine === 'any' ? checked.some((c) => c.pass) : checked.every((c) => c.pass);
    return { ...t, results: checked, pass };
  });
}
