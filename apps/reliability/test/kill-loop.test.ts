import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WalEntry } from '@wal/codec';
import type { BatchOp } from '@wal/fs';
import { type Random, seededRandom } from '@wal/fs/testing';
import { recover } from '@wal/recovery';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { bundleScript } from './support/bundle.js';
import { recordAt, recordStart } from './support/kill-records.js';
import { settings } from './support/settings.js';

const SOURCE = fileURLToPath(new URL('./support/kill-writer.ts', import.meta.url));
let writer: string;
let removeWriter = () => {};

// Every kill starts a new writer process, bundled once (support/bundle.ts).
beforeAll(async () => {
  ({ file: writer, remove: removeWriter } = await bundleScript(SOURCE));
});
afterAll(() => removeWriter());

// Writers killed side by side, each on its own log (child start-up, tsx,
// dominates the time). A kill loses nothing the OS has, so even sync: 'none'
// must keep every acknowledged append: one lane runs each mode.
const LANES = ['always', 'interval', 'none'] as const;
// How long a writer appends before it is killed, after it reports open.
const MAX_DELAY_MS = 60;
// Each kill re-reads the log from this many sequences before its old end
// (plus the whole log every FULL_CHECK_EVERY kills and at the last), so a
// long run does not re-read an ever-growing log every time.
const TAIL_CHECK = 2000;
const FULL_CHECK_EVERY = 100;

interface Round {
  /** The writer's nextSequence once open. */
  opened: number;
  /** One past the highest acknowledged sequence. */
  acked: number;
  acks: number;
}

/** Starts a writer on `dir`, SIGKILLs it at a random moment, and reports what it acknowledged. */
function killRound(dir: string, sync: string, random: Random): Promise<Round> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [writer, dir, sync], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const round: Round = { opened: -1, acked: 0, acks: 0 };
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const lines = out.split('\n');
      out = lines.pop() as string;
      for (const line of lines) {
        const [kind, a, b] = line.split(' ');
        if (kind === 'open') {
          round.opened = Number(a);
          setTimeout(() => child.kill('SIGKILL'), random() * MAX_DELAY_MS);
        } else if (kind === 'ack') {
          round.acked = Math.max(round.acked, Number(a) + Number(b));
          round.acks += Number(b);
        }
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(round);
      else reject(new Error(`writer exited with ${code} before it was killed: ${err}`));
    });
  });
}

/**
 * The invariant after a kill, on the entries recovered from sequence `from`
 * (a record boundary) to the log's end `end`: a violation in words, or undefined.
 */
function violation(
  entries: WalEntry[],
  from: number,
  end: number,
  round: Round,
  before: number,
): string | undefined {
  if (round.opened !== before)
    return `writer opened at ${round.opened}, the log ended at ${before}`;
  if (end < round.acked)
    return `acknowledged sequence ${round.acked - 1} lost (log ends at ${end - 1})`;
  if (end < before) return `log shrank from ${before} to ${end} entries`;
  if (entries.length !== end - from)
    return `expected ${end - from} entries from ${from}, found ${entries.length}`;
  for (let first = from; first < end; ) {
    const ops = recordAt(first);
    if (first + ops.length > end) return `log ends at ${end}, inside the batch at ${first}`;
    for (const [i, op] of ops.entries()) {
      const e = entries[first - from + i] as WalEntry;
      const same =
        e.sequence === first + i &&
        e.type === op.type &&
        Buffer.from(e.key).equals(Buffer.from(op.key as string)) &&
        (op.type === 'delete'
          ? e.value === undefined
          : e.value !== undefined && Buffer.from(e.value).equals(op.value as Uint8Array));
      if (!same) return `entry ${first + i} is not what was written`;
    }
    first += ops.length;
  }
  return undefined;
}

async function lane(
  kills: number,
  sync: string,
  random: Random,
): Promise<{ problems: string[]; acks: number; end: number; torn: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-kill-'));
  const problems: string[] = [];
  let end = 0;
  let acks = 0;
  let torn = 0;
  try {
    for (let k = 0; k < kills; k++) {
      const round = await killRound(dir, sync, random);
      const full = k % FULL_CHECK_EVERY === 0 || k === kills - 1;
      const from = full ? 0 : recordStart(Math.max(0, end - TAIL_CHECK));
      const { entries, stats } = await recover(dir, { mode: 'tolerate-tail', fromSequence: from });
      if (stats.tornTail) torn++;
      const problem = violation(entries, from, stats.nextSequence, round, end);
      if (problem) problems.push(`sync '${sync}', kill ${k + 1}: ${problem}`);
      end = stats.nextSequence;
      acks += round.acks;
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return { problems, acks, end, torn };
}

test(`SIGKILL: ${settings.kills} writers killed at random moments lose no acknowledged op`, async () => {
  const started = performance.now();
  const per = Math.ceil(settings.kills / LANES.length);
  const results = await Promise.all(
    LANES.map((sync, i) => lane(per, sync, seededRandom(settings.seed * 31 + i))),
  );
  const problems = results.flatMap((r) => r.problems);
  const sum = (f: (r: (typeof results)[0]) => number): number =>
    results.reduce((s, r) => s + f(r), 0);
  console.info(
    `kill loop: ${per * LANES.length} SIGKILLs (${per} per sync mode), ${sum((r) => r.acks)} acknowledged ops, ${sum((r) => r.end)} entries recovered, ${sum((r) => r.torn)} torn tails, ${problems.length} violations, ${Math.round(performance.now() - started)} ms`,
  );
  expect(problems).toEqual([]);
}, 3_600_000);

test('the kill check can fail: a lost ack, a changed entry, half a batch, a wrong reopen point', () => {
  const entries = (end: number): WalEntry[] =>
    Array.from({ length: end }, (_, s): WalEntry => {
      const first = recordStart(s);
      const op = recordAt(first)[s - first] as BatchOp;
      const key = Buffer.from(op.key as string);
      return op.type === 'put'
        ? { sequence: s, type: 'put', key, value: op.value as Uint8Array }
        : { sequence: s, type: 'delete', key };
    });
  const round = { opened: 0, acked: 3, acks: 3 };
  expect(violation(entries(5), 0, 5, round, 0)).toBeUndefined();
  expect(violation(entries(2), 0, 2, round, 0)).toMatch(/acknowledged sequence 2 lost/);
  expect(violation(entries(4), 0, 4, round, 0)).toMatch(/inside the batch at 3/);
  expect(violation(entries(5), 0, 5, { ...round, opened: 1 }, 0)).toMatch(/writer opened at 1/);
  const changed = entries(5);
  (changed[1] as WalEntry).key = Buffer.from('other');
  expect(violation(changed, 0, 5, round, 0)).toMatch(/entry 1 is not what was written/);
});
