// Lock churn on a real disk: four steady processes and two streams of victims
// lock one directory over and over for a few seconds. Victims die by SIGKILL
// inside the critical section (lock held) or at a random moment (often while
// locking or releasing), and are replaced. Every process checks inside the
// critical section that no other live process is in it.
import { describe, expect, test } from 'vitest';
import { lockDirectory } from '../src/lock.js';
import { tempDir } from './helpers.js';
import { type Child, startChild } from './lock-child.js';

const STEADY = 4;
const CHURN_MS = 3_000;
// Generous: on a loaded machine victims start slowly (CI saw 2 deaths in 7 s).
const MAX_CHURN_MS = 20_000;
const DEATHS = 3;

describe('lock churn', () => {
  test('several processes locking, releasing and dying: never two holders', async () => {
    const dir = tempDir();
    const entries = new Map<number, number>();
    const overlaps: string[] = [];
    const errors: string[] = [];
    let diedHolding = 0;
    let killedAnywhere = 0;
    let stopping = false;

    const start = (lives: number): Child => {
      const child = startChild('lock-churn-child.ts', [dir, String(lives)], (line) => {
        if (line === 'in') entries.set(child.pid, (entries.get(child.pid) ?? 0) + 1);
        else if (line === 'dying') diedHolding++;
        else if (line.startsWith('overlap')) overlaps.push(`${child.pid}: ${line}`);
        else if (line.startsWith('error')) errors.push(`${child.pid}: ${line}`);
      });
      return child;
    };
    // One stream of victims dies inside, on the first to third entry; the
    // other is killed at a random moment, often while locking or releasing.
    const victims = async (inside: boolean): Promise<void> => {
      while (!stopping) {
        const child = start(inside ? 1 + Math.floor(Math.random() * 3) : 0);
        await child.line(/^ready$/).catch(() => undefined);
        const killer = inside
          ? undefined
          : setTimeout(() => child.process.kill('SIGKILL'), 20 + Math.random() * 300);
        await child.exited;
        clearTimeout(killer);
        if (!inside && child.process.signalCode === 'SIGKILL') killedAnywhere++;
      }
    };

    const steady = Array.from({ length: STEADY }, () => start(0));
    await Promise.all(steady.map((child) => child.line(/^ready$/)));
    const streams = [victims(true), victims(false)];
    // At least CHURN_MS, and on until enough victims died (slow machines
    // start fewer), but never past MAX_CHURN_MS.
    const started = Date.now();
    const enough = () => diedHolding >= DEATHS && killedAnywhere >= DEATHS;
    while (Date.now() - started < CHURN_MS || (!enough() && Date.now() - started < MAX_CHURN_MS)) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    stopping = true;
    for (const child of steady) child.process.kill('SIGTERM');
    await Promise.all([...steady.map((child) => child.exited), ...streams]);

    const report = JSON.stringify({ entries: [...entries.values()], diedHolding, killedAnywhere });
    expect(overlaps, report).toEqual([]);
    expect(errors, report).toEqual([]);
    for (const child of steady) {
      expect(child.process.exitCode, report).toBe(0);
      expect(entries.get(child.pid) ?? 0, report).toBeGreaterThanOrEqual(3);
    }
    expect(diedHolding, report).toBeGreaterThanOrEqual(DEATHS);
    expect(killedAnywhere, report).toBeGreaterThanOrEqual(DEATHS);
    // Nothing is left holding: the last victim's death freed the lock too.
    await (await lockDirectory(dir))();
  }, 40_000);
});
