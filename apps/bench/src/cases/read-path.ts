import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Wal } from '@wal/fs';
import { type CaseResult, keyFor, randomBytes, summarize } from '../harness.js';

const CHILD = fileURLToPath(new URL('../read-child.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

/** Writes a log of about `mib` MiB of 16-byte keys and `valueBytes` values. */
export async function writeLog(dir: string, mib: number, valueBytes: number): Promise<number> {
  const wal = await Wal.open({ dir, sync: 'none' });
  const value = randomBytes(valueBytes, 9);
  const entries = Math.ceil((mib * 1024 * 1024) / (valueBytes + 16 + 30));
  for (let i = 0; i < entries; i += 256) {
    const n = Math.min(256, entries - i);
    await Promise.all(Array.from({ length: n }, (_, k) => wal.put(keyFor(i + k), value)));
  }
  await wal.close();
  return entries;
}

interface ChildResult {
  entries: number;
  bytes: number;
  seconds: number;
  maxRssMiB: number;
}

/** Runs one reader in a fresh process, so its peak RSS is its own. */
function inChild(mode: 'scan' | 'naive' | 'replay' | 'baseline', dir: string): ChildResult {
  const out = execFileSync(
    process.execPath,
    ['--conditions=@wal/source', '--import', TSX, CHILD, mode, dir],
    {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    },
  );
  return JSON.parse(out) as ChildResult;
}

/**
 * Recovery scan against the naive reader (whole files into memory, every
 * entry into an array), replay into a Memtable, and each one's peak RSS
 * beside a process that only loads the modules.
 */
export function readPath(dir: string, label: string, rounds: number): CaseResult[] {
  const samples: Record<string, number[]> = {};
  const add = (name: string, value: number) => {
    samples[name] ??= [];
    samples[name].push(value);
  };
  for (let r = 0; r < rounds; r++) {
    for (const mode of ['scan', 'naive', 'replay'] as const) {
      const res = inChild(mode, dir);
      add(`${mode}|MB/s`, res.bytes / 1e6 / res.seconds);
      add(`${mode}|entries/s`, res.entries / res.seconds);
      add(`${mode}|peak RSS MiB`, res.maxRssMiB);
    }
    add('baseline|peak RSS MiB', inChild('baseline', dir).maxRssMiB);
  }
  const names: Record<string, string> = {
    scan: `recovery: scanLog (${label})`,
    naive: `naive reader: whole files into an array (${label})`,
    replay: `replay into a Memtable (${label})`,
    baseline: `node + modules, no reading (${label})`,
  };
  return Object.entries(samples).map(([key, values]) => {
    const [mode, unit] = key.split('|') as [string, string];
    return summarize(`${names[mode]}`, unit, values);
  });
}
