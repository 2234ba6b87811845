import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { seededRandom } from '@wal/fs/testing';
import { checkRound, Model, type RoundCheck } from './check.js';
import { appendTornFrame, flipByteInCopy, showTornTail, type TornFrame } from './damage.js';
import { runWriter } from './round.js';
import { Store, walDir } from './store.js';

export interface DemoOptions {
  rounds: number;
  seed: number;
  /** Directory for the store; default: a fresh temp dir. */
  dir?: string | undefined;
  /** Keep the directory at the end. */
  keep?: boolean;
  log?: (line: string) => void;
}

export interface DemoResult {
  ok: boolean;
  rows: (RoundCheck & { round: number; kind: string })[];
  notes: string[];
  dir: string;
}

/**
 * Rounds of: start a writer on the same store, kill it with SIGKILL at a
 * random moment, rebuild the state like a restart would, and check it
 * against what was issued and acknowledged. One round also tears the tail on
 * purpose; one flips a byte in a copy of the log.
 */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const log = options.log ?? (() => {});
  const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'wal-demo-'));
  const random = seededRandom(options.seed);
  const model = new Model(options.seed);
  const tearRound = Math.min(1, options.rounds - 1);
  const flipRound = options.rounds - 1;
  const rows: DemoResult['rows'] = [];
  const notes: string[] = [];
  try {
    for (let round = 0; round < options.rounds; round++) {
      const start = model.next;
      const runMs = 150 + Math.floor(random() * 600);
      const run = await runWriter(dir, options.seed, round, runMs);
      // The torn round tears the tail before the check, as a crash mid-write would.
      const torn = round === tearRound ? await tearAfterKill(dir) : undefined;
      const acknowledged = run.lastAcked === null ? 0 : run.lastAcked + 1 - start;
      const check = await checkRound(dir, model, round, start, run.lastAcked, acknowledged);
      if (run.openedAt !== null && run.openedAt !== start) {
        check.problems.push(`the writer reopened at sequence ${run.openedAt}, expected ${start}`);
      }
      let kind = 'kill';
      if (torn) {
        kind = 'kill + torn tail';
        notes.push(
          `round ${round + 1}: torn tail on purpose`,
          ...(await showTornTail(walDir(dir), torn)),
        );
      }
      if (round === flipRound) {
        kind = 'kill + flipped byte (copy)';
        const copy = `${dir}-flipped`;
        try {
          notes.push(
            `round ${round + 1}: a flipped byte`,
            ...(await flipByteInCopy(walDir(dir), copy)),
          );
        } finally {
          if (!options.keep) fs.rmSync(copy, { recursive: true, force: true });
        }
      }
      rows.push({ ...check, round: round + 1, kind });
      log(
        `round ${round + 1}/${options.rounds}: ${check.acknowledged} acknowledged, ${check.recovered} recovered, ${check.lost} lost`,
      );
    }
  } finally {
    if (!options.keep) fs.rmSync(dir, { recursive: true, force: true });
  }
  const ok = rows.every((r) => r.lost === 0 && r.phantom === 0 && r.problems.length === 0);
  return { ok, rows, notes, dir };
}

// The next sequence after what survived the kill, so the torn frame is the
// one a writer would have been writing.
async function tearAfterKill(dir: string): Promise<TornFrame | undefined> {
  const { stats } = await Store.load(dir);
  return appendTornFrame(walDir(dir), stats.nextSequence);
}
