import { describe, expect, it } from 'vitest';
import { interleave, type SliceCase } from '../src/harness.js';
import { LOOP_UNITS, watchLoop } from '../src/loop-delay.js';

/** Keeps the main thread busy for `ms`. */
function block(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

describe('watchLoop', () => {
  it('sees a block at the very start and at the very end', async () => {
    for (const at of ['start', 'end'] as const) {
      const stop = await watchLoop();
      if (at === 'start') block(40);
      await new Promise((resolve) => setTimeout(resolve, 10));
      if (at === 'end') block(40);
      const delay = await stop();
      // The block cannot read shorter than it was, less the monitor's 1 ms tick.
      expect(delay.max).toBeGreaterThanOrEqual(38);
      expect(delay.p50).toBeLessThanOrEqual(delay.p99);
      expect(delay.p99).toBeLessThanOrEqual(delay.max);
    }
  });
});

describe('interleave', () => {
  const fake = (name: string, extra?: Record<string, number>): SliceCase => ({
    name,
    async setup() {},
    async run(ms) {
      await new Promise((resolve) => setTimeout(resolve, ms));
      return extra ? { ops: 10, extra } : 10;
    },
    async teardown() {},
  });

  it("reports each case's rate, its own figures, and the loop delay only where asked", async () => {
    const rows = await interleave(
      [{ ...fake('watched'), watchLoop: true }, fake('own', { 'µs each': 7 })],
      2,
      20,
      () => {},
    );
    expect(rows.map((r) => `${r.name}|${r.unit}|${r.runs}`)).toEqual([
      'watched|ops/s|2',
      `watched|${LOOP_UNITS.p50}|2`,
      `watched|${LOOP_UNITS.p99}|2`,
      `watched|${LOOP_UNITS.max}|2`,
      'own|ops/s|2',
      'own|µs each|2',
    ]);
    const own = rows.find((r) => r.unit === 'µs each');
    expect(own?.median).toBe(7);
  });
});
