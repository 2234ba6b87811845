import type { CaseResult } from './harness.js';

/** A ratio target from the benchmark issue, checked on figures from one run. */
export interface Target {
  id: string;
  what: string;
  numerator: string;
  denominator: string;
  min: number;
}

const V = '(100 B)';

export const TARGETS: Target[] = [
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
];

export interface TargetResult extends Target {
  ratio: number | undefined;
  pass: boolean;
}

export function checkTargets(results: CaseResult[], targets: Target[] = TARGETS): TargetResult[] {
  const byName = new Map(results.map((r) => [r.name, r.median]));
  return targets.map((t) => {
    const a = byName.get(t.numerator);
    const b = byName.get(t.denominator);
    const ratio = a !== undefined && b ? a / b : undefined;
    return { ...t, ratio, pass: ratio !== undefined && ratio >= t.min };
  });
}
