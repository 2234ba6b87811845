import { afterAll, beforeAll, vi } from 'vitest';
import { INTERVAL_MS } from './check.js';

/**
 * Fakes setTimeout and clearTimeout for the test file, so that an
 * `'interval'` writer syncs exactly when a workload's tick says so and a
 * seed replays the same run. Returns the tick: it runs every timer due
 * within one interval.
 */
export function useTickingClock(): () => void {
  beforeAll(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  });
  afterAll(() => {
    vi.useRealTimers();
  });
  return () => {
    vi.advanceTimersByTime(INTERVAL_MS);
  };
}
