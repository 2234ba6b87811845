import type { CaseResult } from './harness.js';

/** A ratio target from the benchmark issue, checked on figures from one run. */
export interface Target {
  id: string;
  what: string;
  numerator: string;
  denominator: string;
  /** Pass when numerator / denominator >= min. */
  min?: number;
  /** Pass when numerator - denominator <= maxExcess (for peak RSS over a baseline). */
  maxExcess?: number;
}

const V = '(100 B)';
const LOG = '(100 B values)';
const KEYS = (n: number) => `(${n} keys)`;

export function targets(memtableKeys: number): Target[] {
  return [
    {
      id: '1',
      what: 'durable put x256 vs classic-level sync:true x256',
      numerator: `@wal: put x256, sync:'always' ${V}`,
      denominator: `classic-level: put x256, sync:true ${V}`,
      min: 25,
    },
    {
      id: '2a',
      what: 'batch(100) vs better-sqlite3 FULL transactions of 100',
      numerator: `@wal: batch(100), sync:'always' ${V}`,
      denominator: `better-sqlite3 WAL: synchronous=FULL, transactions of 100 ${V}`,
      min: 1.5,
    },
    {
      id: '2b',
      what: 'batch(100) vs classic-level batch(100) sync:true',
      numerator: `@wal: batch(100), sync:'always' ${V}`,
      denominator: `classic-level: batch(100), sync:true ${V}`,
      min: 5,
    },
    {
      id: '3',
      what: 'durable put, one writer vs raw writeSync+fdatasync',
      numerator: `@wal: put x1, sync:'always' ${V}`,
      denominator: `physical: writeSync+fdatasync, 1 record ${V}`,
      min: 0.9,
    },
    {
      id: '4',
      what: "'none' x256 vs naive writer without fsync",
      numerator: `@wal: put x256, sync:'none' ${V}`,
      denominator: `naive WAL: writeSync per entry, no fsync ${V}`,
      min: 2,
    },
    {
      id: '5a',
      what: 'recovery scan MB/s vs the naive load-all reader',
      numerator: `recovery: scanLog ${LOG}@MB/s`,
      denominator: `naive reader: whole files into an array ${LOG}@MB/s`,
      min: 1.5,
    },
    {
      id: '5b',
      what: 'recovery scan peak RSS over Node with the modules loaded (MiB)',
      numerator: `recovery: scanLog ${LOG}@peak RSS MiB`,
      denominator: `node + modules, no reading ${LOG}@peak RSS MiB`,
      maxExcess: 64,
    },
    {
      id: '6',
      what: 'replay into a Memtable vs the scan (entries/s)',
      numerator: `replay into a Memtable ${LOG}@entries/s`,
      denominator: `recovery: scanLog ${LOG}@entries/s`,
      min: 0.5,
    },
    {
      id: '7a',
      what: 'memtable B+-tree put vs sorted-btree',
      numerator: `ordered map: @wal B+-tree, put ${KEYS(memtableKeys)}`,
      denominator: `ordered map: sorted-btree, put ${KEYS(memtableKeys)}`,
      min: 1,
    },
    {
      id: '7b',
      what: 'memtable B+-tree get vs sorted-btree',
      numerator: `ordered map: @wal B+-tree, get ${KEYS(memtableKeys)}`,
      denominator: `ordered map: sorted-btree, get ${KEYS(memtableKeys)}`,
      min: 1,
    },
    {
      id: '7c',
      what: 'full Memtable put (Uint8Array keys, copied values) vs sorted-btree, same key handling',
      numerator: `ordered map: @wal Memtable (Uint8Array keys), put ${KEYS(memtableKeys)}`,
      denominator: `ordered map: sorted-btree (Uint8Array keys, copied values), put ${KEYS(memtableKeys)}`,
      min: 1.5,
    },
  ];
}

export interface TargetResult extends Target {
  /** The ratio, or for a `maxExcess` target the excess. */
  ratio: number | undefined;
  pass: boolean;
}

/** Looks rows up by name, or by `name@unit` where one name has several units. */
export function checkTargets(results: CaseResult[], list: Target[]): TargetResult[] {
  const value = (key: string) =>
    results.find((r) => r.name === key || `${r.name}@${r.unit}` === key)?.median;
  return list.map((t) => {
    const a = value(t.numerator);
    const b = value(t.denominator);
    if (a === undefined || b === undefined) return { ...t, ratio: undefined, pass: false };
    if (t.maxExcess !== undefined) return { ...t, ratio: a - b, pass: a - b <= t.maxExcess };
    const ratio = b ? a / b : undefined;
    return { ...t, ratio, pass: ratio !== undefined && ratio >= (t.min ?? 0) };
  });
}
