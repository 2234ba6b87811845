/**
 * How hard the loops work. `pnpm test` uses the defaults; `pnpm test:crash`
 * sets these variables from its arguments (see src/run-heavy.ts).
 */
function count(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new Error(`expected ${name} to be a count, found ${raw}`);
  return n;
}

// Crash states of sync 'always'; 'interval' and 'none' promise less, so each
// gets a fifth of it (at least 2,000), as 'none' always had.
const crashStates = count('WAL_CRASH_STATES', 10_000);
const weakerStates = Math.max(2_000, Math.ceil(crashStates / 5));
// Fault-loop workloads of sync 'always'; the other modes get two thirds.
const faultWorkloads = count('WAL_FAULT_WORKLOADS', 3);
const weakerWorkloads = Math.max(1, Math.round((faultWorkloads * 2) / 3));

export const settings = {
  /** Crash states the crash loop checks, per sync mode. */
  crashStates: { always: crashStates, interval: weakerStates, none: weakerStates },
  /** First workload seed of the crash loop, the fault loop and the damage loop. */
  seed: count('WAL_SEED', 1),
  /** Workloads the I/O fault loop runs, per sync mode (each: every N, transient and persistent). */
  faultWorkloads: { always: faultWorkloads, interval: weakerWorkloads, none: weakerWorkloads },
  /** SIGKILLs the kill loop delivers. */
  kills: count('WAL_KILLS', 50),
  /** fast-check runs of each model-based property (per sync mode for the model test). */
  modelRuns: count('WAL_MODEL_RUNS', 300),
  /** fast-check seed of the model-based tests: new each run unless given, and printed. */
  modelSeed: count('WAL_MODEL_SEED', Math.floor(Math.random() * 2 ** 31)),
  /** Workloads of the damage-and-repair loop (each: damage, repair, more writes, replay). */
  damageRuns: count('WAL_DAMAGE_RUNS', 200),
  /** Closed logs of the every-byte flip loop, per sync mode (each byte of each flipped in turn). */
  flipLogs: count('WAL_FLIP_LOGS', 1),
  /** Segment size of those logs (four segments each): the bytes each flips. */
  flipSegmentBytes: count('WAL_FLIP_SEGMENT_BYTES', 512),
};
