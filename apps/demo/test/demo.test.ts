import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import { runDemo } from '../src/demo.js';

test('three rounds of SIGKILLed writers lose nothing acknowledged and invent nothing', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-demo-test-'));
  try {
    const result = await runDemo({ rounds: 3, seed: 7, dir: path.join(dir, 'store') });
    expect(result.rows.map((r) => r.problems)).toEqual([[], [], []]);
    expect(result.ok).toBe(true);
    expect(result.rows.every((r) => r.lost === 0 && r.phantom === 0)).toBe(true);
    // Writers really ran: something was acknowledged and recovered.
    expect(result.rows.reduce((n, r) => n + r.acknowledged, 0)).toBeGreaterThan(0);
    // The special rounds ran and said what each reader did.
    const notes = result.notes.join('\n');
    expect(notes).toMatch(/torn tail dropped: \d+ bytes/);
    expect(notes).toMatch(/strict: refused with WAL_CORRUPTION/);
    expect(notes).toMatch(
      /kept in quarantine\/\d+\/wal_\d{8}\.log \(the torn bytes byte for byte\)/,
    );
    expect(notes).toMatch(/point-in-time: \d+ entries/);
    // The flip lands in the middle of a segment's frames: in a batch, whose
    // sequences repair records as lost, or in a close mark, which holds none.
    expect(notes).toMatch(
      /repair would rebuild wal_\d{8}\.log(, recording sequences \d+\.\.\d+ as lost)?, keeping the file as it was in quarantine\//,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);

test('the check catches a lost acknowledged write', async () => {
  // Guard against a demo that cannot fail: tamper with the log between the
  // kill and the check by making the writer's last acknowledged op vanish.
  const { checkRound, Model } = await import('../src/check.js');
  const { Store } = await import('../src/store.js');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-demo-check-'));
  try {
    const store = await Store.open(dir);
    const { calls, toBatch } = await import('../src/workload.js');
    const generator = calls(1, 0);
    let last = -1;
    for (let i = 0; i < 20; i++) {
      const call = generator.next().value;
      if (!call) break;
      last = (await store.batch(toBatch(call))) + call.ops.length - 1;
    }
    await store.close();
    // Claim one more acknowledged sequence than the log holds.
    const check = await checkRound(dir, new Model(1), 0, 0, last + 1, last + 2);
    expect(check.lost).toBe(1);
    expect(check.problems.join()).toMatch(/acknowledged up to/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
