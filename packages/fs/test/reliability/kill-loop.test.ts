import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WalEntry } from '@wal/codec';
import { type Random, seededRandom } from '@wal/fs/testing';
import { expect, test } from 'vitest';
import { isRecordBoundary, recordAt } from './support/kill-records.js';
import { recover } from './support/recovery.js';
import { settings } from './support/settings.js';

const WRITER = fileURLToPath(new URL('./kill-writer.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
// Writers killed side by side, each on its own log (child start-up, tsx,
// dominates the time). A kill loses nothing the OS has, so even sync: 'none'
// must keep every acknowledged append: one lane runs each mode.
const LANES = ['always', 'none'] as const;
// How long a writer appends before it is killed, after it reports open.
const MAX_DELAY_MS = 60;

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
    const child = spawn(
      process.execPath,
      ['--conditions=@wal/source', '--import', 'tsx/esm', WRITER, dir, sync],
      {
        cwd: REPO,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
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

/** The invariant on a log recovered after a kill; a violation in words, or undefined. */
function violation(entries: WalEntry[], round: Round, before: number): string | undefined {
  const end = entries.length;
  if (round.opened !== before)
    return `writer opened at ${round.opened}, the log ended at ${before}`;
  if (end < round.acked)
    return `acknowledged sequence ${round.acked - 1} lost (log ends at ${end - 1})`;
  if (end < before) return `log shrank from ${before} to ${end} entries`;
  if (!isRecordBoundary(end)) return `log ends at ${end}, inside a batch`;
  for (let first = 0; first < end; ) {
    const ops = recordAt(first);
    for (const [i, op] of ops.entries()) {
      const e = entries[first + i] as WalEntry;
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
      const { entries, stats } = await recover(dir, { mode: 'tolerate-tail' });
      if (stats.tornTail) torn++;
      const problem = violation(entries, round, end);
      if (problem) problems.push(`sync '${sync}', kill ${k + 1}: ${problem}`);
      end = entries.length;
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
    `kill loop: ${per * LANES.length} SIGKILLs (sync 'always' and 'none'), ${sum((r) => r.acks)} acknowledged ops, ${sum((r) => r.end)} entries recovered, ${sum((r) => r.torn)} torn tails, ${problems.length} violations, ${Math.round(performance.now() - started)} ms`,
  );
  expect(problems).toEqual([]);
}, 3_600_000);
