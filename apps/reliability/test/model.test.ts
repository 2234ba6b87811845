import { ErrorCode, encodeRecord, WalError } from '@wal/codec';
import { type BatchOp, listSegments, type Wal } from '@wal/fs';
import { type Fault, SimFs } from '@wal/fs/testing';
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { freshFs, LOG_DIR, reopenAndCheck } from './support/check.js';
import { History } from './support/history.js';
import { settings } from './support/settings.js';

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

/**
 * Runs a writer call. While poisoned it must reject with WAL_IO_ERROR; if
 * the armed fdatasync fault fires during it, it must reject with
 * WAL_IO_ERROR and poison the writer; otherwise it must succeed.
 */
async function call<T>(m: Model, r: Real, action: () => Promise<T>): Promise<T | undefined> {
  const fired = r.fault?.fired.length ?? 0;
  const result = await action().then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  const failedNow = (r.fault?.fired.length ?? 0) > fired;
  if (failedNow) m.poisoned = true;
  if (m.poisoned) {
    expect(result.ok, 'a poisoned writer accepted a call').toBe(false);
    if (!result.ok) expect(WalError.isInstance(result.error, ErrorCode.IO_ERROR)).toBe(true);
    return undefined;
  }
  if (!result.ok) throw result.error;
  return result.value;
}

class Append implements Command {
  constructor(
    readonly ops: BatchOp[],
    readonly as: 'put' | 'delete' | 'batch',
  ) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    const expected = r.wal.nextSequence;
    const sequence = await call(m, r, () => m.history.append(r.wal, this.ops, this.as));
    if (sequence !== undefined) expect(sequence).toBe(expected);
  }
  toString = () => `${this.as}(${this.ops.map((o) => o.key).join(',')})`;
}

class Simple implements Command {
  constructor(readonly name: 'sync' | 'rotate') {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    const before = r.wal.segmentNumber;
    await call(m, r, () => (this.name === 'sync' ? r.wal.sync() : r.wal.rotate()));
    if (this.name === 'rotate' && !m.poisoned) expect(r.wal.segmentNumber).toBe(before + 1);
  }
  toString = () => this.name;
}

class TruncateBefore implements Command {
  constructor(readonly back: number) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    const sequence = Math.max(0, r.wal.nextSequence - 1 - this.back);
    const removed = await call(m, r, () => r.wal.truncateBefore(sequence));
    if (removed !== undefined) m.history.truncatedBefore(sequence);
  }
  toString = () => `truncateBefore(next - 1 - ${this.back})`;
}

// Reopens `fs` and checks the invariant; a fault during open is retried once cleared.
async function reopen(m: Model, r: Real, fs: SimFs): Promise<void> {
  expect(r.fs.openHandles, 'handles leaked').toBe(0);
  r.fs = fs;
  r.wal = await reopenAndCheck(fs, m.history).catch(async (error: unknown) => {
    if (!r.fault?.fired.length) throw error;
    // Open itself syncs the tail it scanned, so the armed fault can fire there.
    expect(WalError.isInstance((error as Error).cause, ErrorCode.IO_ERROR)).toBe(true);
    fs.clearFaults();
    return reopenAndCheck(fs, m.history);
  });
  m.poisoned = false;
}

class CloseReopen implements Command {
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    await r.wal.close().catch((error: unknown) => {
      expect(WalError.isInstance(error, ErrorCode.IO_ERROR)).toBe(true);
    });
    await reopen(m, r, r.fs);
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
    if (this.tail !== 'none') corruptTail(after, this.tail, this.seed);
    // The dead process's handles died with it.
    r.fs = new SimFs();
    await reopen(m, r, after);
  }
  toString = () => `crash(${this.seed})${this.tail === 'none' ? '' : `+${this.tail} tail`}`;
}

// What a crash mid-append can leave after the last frame.
function corruptTail(fs: SimFs, kind: 'garbage' | 'zeros' | 'half-frame', seed: number): void {
  const last = listSegments(fs, LOG_DIR).at(-1);
  if (!last) return;
  const frame = encodeRecord(2 ** 40, [
    { type: 'put', key: Buffer.from('x'), value: new Uint8Array(30) },
  ]);
  const tail =
    kind === 'zeros'
      ? new Uint8Array(1 + (seed % 600))
      : kind === 'half-frame'
        ? frame.subarray(0, 1 + (seed % (frame.length - 1)))
        : Uint8Array.from({ length: 1 + (seed % 40) }, (_, i) => (seed * 131 + i * 7) & 0xff);
  fs.writeFile(last.path, Buffer.concat([fs.readFile(last.path), tail]));
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
const value = fc.oneof(fc.string({ maxLength: 20 }), fc.uint8Array({ maxLength: 700 }));
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
  fc.nat({ max: 6 }).map((n) => new TruncateBefore(n)),
  fc.constant(new CloseReopen()),
  fc
    .tuple(
      fc.nat(),
      fc.constantFrom('none', 'garbage', 'zeros', 'half-frame') as fc.Arbitrary<Crash['tail']>,
    )
    .map(([seed, tail]) => new Crash(seed, tail)),
  fc.constant(new FailNextFsync()),
];

test('model: random commands, crashes, torn tails and failed fsyncs never lose an acknowledged op', async () => {
  const seed = settings.modelSeed;
  console.info(`model seed ${seed} (replay: WAL_MODEL_SEED=${seed})`);
  await fc.assert(
    fc.asyncProperty(fc.commands(commands, { maxCommands: 30 }), async (cmds) => {
      const fs = freshFs(new SimFs());
      const model: Model = { history: new History(), poisoned: false };
      const real: Real = { fs, wal: await reopenAndCheck(fs, model.history), fault: undefined };
      await fc.asyncModelRun(() => ({ model, real }), cmds);
      expect(model.history.violations).toEqual([]);
      // Finally the worst power loss, and a clean close of what is left.
      const after = real.fs.crash();
      await real.wal.close().catch(() => {});
      expect(real.fs.openHandles).toBe(0);
      await (await reopenAndCheck(after, model.history)).close();
    }),
    { numRuns: settings.modelRuns, seed },
  );
}, 600_000);
