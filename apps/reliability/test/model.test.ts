import { encodeBatchFrame } from '@wal/codec';
import type { SyncMode, Wal } from '@wal/fs';
import { listSegmentFiles } from '@wal/fs/segments';
import { type Fault, SimFs } from '@wal/fs/testing';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { LOG_DIR, reopenAndCheck } from './support/check.js';
import { useTickingClock } from './support/clock.js';
import { type Fate, History } from './support/history.js';
import { headerOf } from './support/segment-bytes.js';
import { settings } from './support/settings.js';
import { closeWal, type FrameValue, issueOp, type OpSpec } from './support/workload.js';

const tick = useTickingClock();

/** What the commands know: the oracle, and whether the writer must refuse everything. */
interface Model {
  history: History;
  poisoned: boolean;
}

interface Real {
  fs: SimFs;
  wal: Wal;
  /** The fdatasync fault armed by FailNextFsync, until it fires or a crash clears it. */
  fault: Fault | undefined;
}

type Command = fc.AsyncCommand<Model, Real>;

const firedCount = (r: Real): number => r.fault?.fired.length ?? 0;

/**
 * Runs a writer call. While failed it must reject with WAL_FAILED; if the
 * armed fdatasync fault fires during it, it must reject with WAL_FAILED and
 * leave the writer failed; otherwise it must succeed.
 */
async function call<T>(m: Model, r: Real, action: () => Promise<T>): Promise<T | undefined> {
  const fired = firedCount(r);
  const result = await action().then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  if (firedCount(r) > fired) m.poisoned = true;
  if (m.poisoned) {
    expect(result.ok, 'a failed writer accepted a call').toBe(false);
    if (!result.ok) expect(result.error).toMatchObject({ code: 'WAL_FAILED' });
    expect(r.wal.state).toBe('failed');
    return undefined;
  }
  if (!result.ok) throw result.error;
  return result.value;
}

class Append implements Command {
  constructor(
    readonly ops: OpSpec[],
    readonly as: 'put' | 'delete' | 'batch',
  ) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    const expected = r.wal.nextSequence;
    const ops = this.ops.map((op) => issueOp(op, r.wal, r.fs));
    const sequence = await call(m, r, () => m.history.append(r.wal, ops, this.as));
    if (sequence !== undefined) expect(sequence).toBe(expected);
  }
  toString = () => `${this.as}(${this.ops.map((o) => o.key).join(',')})`;
}

class Simple implements Command {
  constructor(readonly name: 'sync' | 'rotate') {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    const before = r.wal.segment;
    const end = r.wal.nextSequence;
    const done = await call(m, r, async () => {
      await (this.name === 'sync' ? r.wal.sync() : r.wal.rotate());
      return true;
    });
    if (done) m.history.durableBefore(end);
    if (this.name === 'rotate' && !m.poisoned) expect(r.wal.segment).toBe(before + 1);
  }
  toString = () => this.name;
}

// Time passes: an 'interval' writer's timer sync runs (and may fail).
class Tick implements Command {
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    const fired = firedCount(r);
    tick();
    for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
    if (firedCount(r) > fired) m.poisoned = true;
  }
  toString = () => 'tick';
}

class TruncateThrough implements Command {
  constructor(readonly back: number) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    const sequence = Math.max(0, r.wal.nextSequence - 1 - this.back);
    // Segments may be gone as soon as the call starts.
    if (!m.poisoned) m.history.truncatedThrough(sequence);
    await call(m, r, () => r.wal.truncateThrough(sequence));
  }
  toString = () => `truncateThrough(next - 1 - ${this.back})`;
}

// Reopens `fs` and checks the invariant; a fault during open is retried once cleared.
async function reopen(m: Model, r: Real, fs: SimFs, fate: Fate): Promise<void> {
  r.fs = fs;
  r.wal = await reopenAndCheck(fs, m.history, {}, fate).catch(async (error: unknown) => {
    if (!r.fault?.fired.length) throw error;
    // Open itself syncs the tail it scanned, so the armed fault can fire there.
    expect((error as Error).cause).toMatchObject({ code: 'WAL_IO_ERROR' });
    fs.clearFaults();
    return reopenAndCheck(fs, m.history, {}, fate);
  });
  m.poisoned = false;
}

class CloseReopen implements Command {
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    // Only the armed fault, firing at close's own sync, makes close reject.
    await closeWal(r.wal, m.history).catch((error: unknown) => {
      expect(error).toMatchObject({ code: 'WAL_FAILED' });
    });
    expect(r.fs.openHandles, 'handles leaked').toBe(0);
    // The process goes on: the page cache is as it left it.
    await reopen(m, r, r.fs, 'kill');
  }
  toString = () => 'close+reopen';
}

class Crash implements Command {
  constructor(
    readonly seed: number,
    readonly tail: 'none' | 'garbage' | 'zeros' | 'half-frame',
  ) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    const after = r.fs.crash(this.seed);
    r.fault = undefined;
    if (this.tail !== 'none') await corruptTail(after, this.tail, this.seed);
    // The dead process's handles died with it.
    await reopen(m, r, after, 'power loss');
  }
  toString = () => `crash(${this.seed})${this.tail === 'none' ? '' : `+${this.tail} tail`}`;
}

// SIGKILL: the page cache survives. The next writer's open must make what
// it found durable before it acknowledges anything: a power loss at once
// must keep it all.
class Kill implements Command {
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    const after = r.fs.kill();
    r.fault = undefined;
    await reopen(m, r, after, 'kill');
    const lost = r.fs.crash();
    await (await reopenAndCheck(lost, m.history.clone())).close();
  }
  toString = () => 'kill+reopen';
}

// What a crash mid-append can leave after the last frame.
async function corruptTail(
  fs: SimFs,
  kind: 'garbage' | 'zeros' | 'half-frame',
  seed: number,
): Promise<void> {
  const last = (await listSegmentFiles(fs, LOG_DIR).catch(() => [])).at(-1);
  if (!last) return;
  const bytes = fs.readFile(last.file);
  const header = headerOf(bytes);
  if (!header) return;
  // A frame of this segment (its salt) at a sequence past anything written.
  const frame = encodeBatchFrame({ salt: header.salt, synced: bytes.length }, 2 ** 40, [
    { type: 'put', key: Buffer.from('x'), value: new Uint8Array(30) },
  ]);
  const tail =
    kind === 'zeros'
      ? new Uint8Array(1 + (seed % 600))
      : kind === 'half-frame'
        ? frame.subarray(0, 1 + (seed % (frame.length - 1)))
        : Uint8Array.from({ length: 1 + (seed % 40) }, (_, i) => (seed * 131 + i * 7) & 0xff);
  fs.writeFile(last.file, Buffer.concat([bytes, tail]));
}

class FailNextFsync implements Command {
  check = () => true;
  async run(_: Model, r: Real): Promise<void> {
    r.fault?.disarm();
    r.fault = r.fs.inject({ ops: ['fdatasync'], code: 'EIO' });
  }
  toString = () => 'fail-next-fdatasync';
}

const key = fc.constantFrom('a', 'b', 'c', '');
const frameValue: fc.Arbitrary<FrameValue> = fc.record({
  frames: fc.constantFrom('own' as const, 'foreign' as const),
  seed: fc.nat(),
});
const value = fc.oneof(
  fc.string({ maxLength: 20 }).map((s) => Buffer.from(s)),
  fc.uint8Array({ maxLength: 700 }),
  fc.nat({ max: 700 }).map((n) => new Uint8Array(n)),
  frameValue,
);
const put = fc.record({ type: fc.constant('put' as const), key, value });
const del = fc.record({ type: fc.constant('delete' as const), key });
const commands = [
  put.map((op) => new Append([op], 'put')),
  del.map((op) => new Append([op], 'delete')),
  fc
    .array(fc.oneof(put, del), { minLength: 1, maxLength: 4 })
    .map((ops) => new Append(ops, 'batch')),
  fc.constant(new Simple('sync')),
  fc.constant(new Simple('rotate')),
  fc.constant(new Tick()),
  fc.nat({ max: 6 }).map((n) => new TruncateThrough(n)),
  fc.constant(new CloseReopen()),
  fc
    .tuple(
      fc.nat(),
      fc.constantFrom('none', 'garbage', 'zeros', 'half-frame') as fc.Arbitrary<Crash['tail']>,
    )
    .map(([seed, tail]) => new Crash(seed, tail)),
  fc.constant(new Kill()),
  fc.constant(new FailNextFsync()),
];

/** The model property: `makeFs` gives the file system each run starts on. */
function property(sync: SyncMode, makeFs: () => SimFs) {
  return fc.asyncProperty(fc.commands(commands, { maxCommands: 30 }), async (cmds) => {
    const fs = makeFs();
    const model: Model = { history: new History(sync), poisoned: false };
    const wal = await reopenAndCheck(fs, model.history);
    const real: Real = { fs, wal, fault: undefined };
    await fc.asyncModelRun(() => ({ model, real }), cmds);
    expect(model.history.violations).toEqual([]);
    // Finally the worst power loss, and a clean close of what is left.
    const after = real.fs.crash();
    await real.wal.close().catch(() => {});
    expect(real.fs.openHandles).toBe(0);
    await (await reopenAndCheck(after, model.history)).close();
  });
}

describe.each(['always', 'interval', 'none'] as const)("sync: '%s'", (sync: SyncMode) => {
  test('model: random commands, crashes, kills, torn tails and failed fsyncs never lose an acknowledged op', async () => {
    const seed = settings.modelSeed;
    console.info(`model seed ${seed}, sync '${sync}' (replay: WAL_MODEL_SEED=${seed})`);
    await fc.assert(
      property(sync, () => new SimFs()),
      { numRuns: settings.modelRuns, seed },
    );
  }, 3_600_000);
});

// The model must be able to fail: on a file system that acknowledges
// fdatasync without doing it, a crash loses acknowledged ops.
test('the model catches a file system that skips fdatasync', async () => {
  class SkipsFdatasync extends SimFs {
    override async fdatasync(): Promise<void> {}
  }
  // fast-check reports the property's own error as the cause.
  const failure = await fc
    .assert(
      property('always', () => new SkipsFdatasync()),
      { numRuns: 200, seed: 1 },
    )
    .then(
      () => undefined,
      (error: Error) => error.cause as Error,
    );
  expect(failure?.message).toMatch(/lost|recovery failed|Wal.open failed/);
});
