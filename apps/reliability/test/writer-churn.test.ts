// Writers in several processes opening, appending to and closing one log on a
// real disk, for a few seconds, while others are SIGKILLed at random moments
// (often inside Wal.open or close, lock held). The repro of issue 13's first
// bug: with a lock that let two holders in, acknowledged puts were issued the
// same sequence twice, and the log later failed Wal.open with WAL_CORRUPTION.
// Here every acknowledged put must be in the log, at the sequence it was
// given, and no sequence is given twice.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Wal } from '@wal/fs';
import { recover } from '@wal/recovery';
import { afterAll, beforeAll, expect, onTestFinished, test } from 'vitest';
import { bundleScript } from './support/bundle.js';

const SOURCE = fileURLToPath(new URL('./support/churn-writer.ts', import.meta.url));
const STEADY = 4;
const CHURN_MS = 3_000;
const MAX_CHURN_MS = 15_000;
// Victims SIGKILLed while the steady writers churn, at least (two streams of them).
const KILLS = 4;

let writer: string;
let removeWriter = () => {};
beforeAll(async () => {
  ({ file: writer, remove: removeWriter } = await bundleScript(SOURCE));
});
afterAll(() => removeWriter());

interface Writer {
  process: ChildProcess;
  ready: Promise<void>;
  exited: Promise<void>;
  acks: number;
}

test('processes churning open, put and close on one log, some killed: every acknowledged put kept, no sequence given twice', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-churn-'));
  onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
  // Sequence to the key acknowledged at it, and every problem seen.
  const acked = new Map<number, string>();
  const problems: string[] = [];

  const start = (): Writer => {
    const child = spawn(process.execPath, [writer, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    onTestFinished(() => {
      child.kill('SIGKILL');
    });
    let out = '';
    let markReady = () => {};
    const w: Writer = {
      process: child,
      ready: new Promise((resolve) => {
        markReady = resolve;
      }),
      exited: new Promise((resolve) => child.on('exit', () => resolve())),
      acks: 0,
    };
    child.stderr?.on('data', (chunk: Buffer) => problems.push(`stderr: ${chunk}`));
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const lines = out.split('\n');
      out = lines.pop() as string;
      for (const line of lines) {
        const [kind, a = '', b = ''] = line.split(' ');
        if (kind === 'ready') markReady();
        else if (kind === 'ack') {
          const sequence = Number(a);
          const other = acked.get(sequence);
          if (other !== undefined) problems.push(`sequence ${sequence} given to ${other} and ${b}`);
          acked.set(sequence, b);
          w.acks++;
        } else problems.push(`${child.pid}: ${line}`);
      }
    });
    w.exited.then(() => markReady());
    return w;
  };

  let stopping = false;
  let kills = 0;
  const victims = async (): Promise<void> => {
    while (!stopping) {
      const victim = start();
      await victim.ready;
      const timer = setTimeout(() => victim.process.kill('SIGKILL'), 20 + Math.random() * 200);
      await victim.exited;
      clearTimeout(timer);
      if (victim.process.signalCode === 'SIGKILL') kills++;
    }
  };

  const steady = Array.from({ length: STEADY }, start);
  await Promise.all(steady.map((w) => w.ready));
  const streams = [victims(), victims()];
  const started = Date.now();
  while (
    Date.now() - started < CHURN_MS ||
    (kills < KILLS && Date.now() - started < MAX_CHURN_MS)
  ) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  stopping = true;
  for (const w of steady) w.process.kill('SIGTERM');
  await Promise.all([...steady.map((w) => w.exited), ...streams]);

  const report = JSON.stringify({ acks: steady.map((w) => w.acks), kills, total: acked.size });
  expect(problems, report).toEqual([]);
  for (const w of steady) {
    expect(w.process.exitCode, report).toBe(0);
    expect(w.acks, report).toBeGreaterThanOrEqual(3);
  }
  expect(kills, report).toBeGreaterThanOrEqual(KILLS);

  // The log opens, and holds every acknowledged put where it was acknowledged.
  const wal = await Wal.open({ dir });
  const highest = Math.max(...acked.keys());
  expect(wal.nextSequence, report).toBeGreaterThan(highest);
  await wal.close();
  const { entries } = await recover(dir, { mode: 'strict' });
  const bySequence = new Map(entries.map((e) => [e.sequence, e]));
  for (const [sequence, key] of acked) {
    const entry = bySequence.get(sequence);
    expect(entry && Buffer.from(entry.key).toString(), `sequence ${sequence}`).toBe(key);
    expect(entry?.value && Buffer.from(entry.value).toString(), `sequence ${sequence}`).toBe(key);
  }
}, 60_000);
