/**
 * How hard the loops work. `pnpm test` uses the defaults; `pnpm test:crash`
 * sets these variables from its arguments (see run-heavy.ts).
 */
function count(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new Error(`expected ${name} to be a count, found ${raw}`);
  return n;
}

export const settings = {
  /** Crash states the crash loop checks. */
  crashStates: count('WAL_CRASH_STATES', 10_000),
  /** First workload seed of the crash loop and the fault loop. */
  seed: count('WAL_SEED', 1),
  /** Workloads the I/O fault loop runs (each: every N, transient and persistent). */
  faultWorkloads: count('WAL_FAULT_WORKLOADS', 3),
  /** SIGKILLs the kill loop delivers. */
  kills: count('WAL_KILLS', 50),
  /** fast-check runs of each model-based property. */
  modelRuns: count('WAL_MODEL_RUNS', 300),
  /** fast-check seed of the model-based tests: new each run unless given, and printed. */
  modelSeed: count('WAL_MODEL_SEED', Math.floor(Math.random() * 2 ** 31)),
};
