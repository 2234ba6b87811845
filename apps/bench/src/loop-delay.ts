import { monitorEventLoopDelay } from 'node:perf_hooks';

/** How late the event loop ran a 1 ms timer, in ms. */
export interface LoopDelay {
  p50: number;
  p99: number;
  max: number;
}

const RESOLUTION_MS = 1;

const tick = () => new Promise((resolve) => setTimeout(resolve, 2 * RESOLUTION_MS));

/**
 * Starts watching the event loop, once the monitor has ticked (its first
 * tick only sets the time the next is measured from, so a block before it
 * would go unseen); the returned function stops and reports.
 * `monitorEventLoopDelay` records the whole interval between its 1 ms ticks,
 * so the lateness is that interval less the resolution: an idle loop reads
 * about 0.1 ms, a loop blocked by a 5 ms fdatasync reads about 5 ms.
 */
export async function watchLoop(): Promise<() => Promise<LoopDelay>> {
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  await tick();
  return async () => {
    // One more tick, so a block at the very end is recorded too.
    await tick();
    histogram.disable();
    const late = (ns: number) => Math.max(0, ns / 1e6 - RESOLUTION_MS);
    return {
      p50: late(histogram.percentile(50)),
      p99: late(histogram.percentile(99)),
      max: late(histogram.max),
    };
  };
}

/** Row units for the three figures. */
export const LOOP_UNITS = {
  p50: 'loop delay p50 ms',
  p99: 'loop delay p99 ms',
  max: 'loop delay max ms',
} as const;
