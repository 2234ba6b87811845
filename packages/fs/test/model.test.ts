// Model-based test: random sequences of appends, rotations, syncs,
// truncations, reopens, kills and torn tails, in every sync mode, checked
// against a list of entries. It runs on SimFs, so a kill is a real kill: the
// next process sees the page cache, and nothing acknowledged may be missing.
import { type SyncMode, Wal } from '@wal/fs';
import { SimFs } from '@wal/fs/testing';
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { concat, type Entry, readEntries, simDisk } from './helpers.js';

interface Model {
  entries: Entry[];
  next: number;
}

interface Real {
  sim: SimFs;
  wal: Wal;
  sync: SyncMode;
}

type Command = fc.AsyncCommand<Model, Real>;

const dir = '/log';
const options = (r: Pick<Real, 'sim' | 'sync'>) => ({
  dir,
  fs: r.sim,
  sync: r.sync,
  syncIntervalMs: 5,
  maxSegmentBytes: 256,
});
const onDisk = (r: Real) => readEntries(dir, simDisk(r.sim));

class PutCommand implements Command {
  constructor(
    readonly key: string,
    readonly value: string,
  ) {}
  check = () => true;
  async run(m: Model, r: Real) {
    expect(await r.wal.put(this.key, this.value)).toBe(m.next);
    m.entries.push({ sequence: m.next++, type: 'put', key: this.key, value: this.value });
  }
  toString = () => `put(${this.key}, ${this.value.length}B)`;
}

class BatchCommand implements Command {
  constructor(readonly ops: { key: string; value?: string | undefined }[]) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const ops = this.ops.map((o) =>
      o.value === undefined
        ? { type: 'delete' as const, key: o.key }
        : { type: 'put' as const, key: o.key, value: o.value },
    );
    expect(await r.wal.batch(ops)).toBe(m.next);
    for (const op of ops) m.entries.push({ sequence: m.next++, ...op });
  }
  toString = () => `batch(${this.ops.length})`;
}

class RotateCommand implements Command {
  check = () => true;
  async run(_: Model, r: Real) {
    const segment = r.wal.segment;
    await r.wal.rotate();
    expect(r.wal.segment).toBe(segment + 1);
  }
  toString = () => 'rotate';
}

class SyncCommand implements Command {
  check = () => true;
  async run(_: Model, r: Real) {
    await r.wal.sync();
  }
  toString = () => 'sync';
}

class TruncateCommand implements Command {
  constructor(readonly back: number) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const through = m.next - 1 - this.back;
    if (through < 0) return;
    await r.wal.truncateThrough(through);
    // Whole segments go: what is left is a suffix holding everything after `through`.
    const left = onDisk(r);
    expect(m.entries.slice(m.entries.length - left.length)).toEqual(left);
    expect(left.length).toBeGreaterThanOrEqual(
      m.entries.filter((e) => e.sequence > through).length,
    );
    m.entries = left;
  }
  toString = () => `truncateThrough(next - 1 - ${this.back})`;
}

class ReopenCommand implements Command {
  constructor(readonly tear: string) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const file = r.wal.file;
    await r.wal.close();
    if (this.tear) {
      // Bytes after the close mark that cannot begin a valid frame.
      const bytes = r.sim.readFile(file);
      r.sim.writeFile(file, concat(bytes, Buffer.from(this.tear)));
    }
    r.wal = await Wal.open(options(r));
    expect(r.wal.repairs).toHaveLength(this.tear ? 1 : 0);
    expect(r.wal.nextSequence).toBe(m.next);
  }
  toString = () => (this.tear ? `tear(${this.tear.length}B)+reopen` : 'reopen');
}

// SIGKILL: no close, no mark. The next process sees every written byte.
class KillCommand implements Command {
  check = () => true;
  async run(m: Model, r: Real) {
    r.sim = r.sim.kill();
    r.wal = await Wal.open(options(r));
    expect(r.wal.repairs).toEqual([]);
    expect(r.wal.nextSequence).toBe(m.next);
    expect(onDisk(r)).toEqual(m.entries);
  }
  toString = () => 'kill+reopen';
}

const key = fc.string({ maxLength: 6 });
const value = fc.string({ maxLength: 120 });
const commands = [
  fc.tuple(key, value).map(([k, v]) => new PutCommand(k, v)),
  fc
    .array(fc.record({ key, value: fc.option(value, { nil: undefined }) }), {
      minLength: 1,
      maxLength: 4,
    })
    .map((ops) => new BatchCommand(ops)),
  fc.constant(new RotateCommand()),
  fc.constant(new SyncCommand()),
  fc.nat({ max: 8 }).map((n) => new TruncateCommand(n)),
  // A torn tail: a byte 1 then ASCII reads as an out-of-range length.
  fc
    .oneof(
      fc.constant(''),
      fc.string({ minLength: 1, maxLength: 40 }).map((s) => `\u0001${s}`),
    )
    .map((tear) => new ReopenCommand(tear)),
  fc.constant(new KillCommand()),
];

test.each(['always', 'interval', 'none'] as const)(
  "random command sequences agree with the model, on disk and after reopen (sync: '%s')",
  async (sync) => {
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 40 }), async (cmds) => {
        const sim = new SimFs();
        const real: Real = { sim, sync, wal: await Wal.open(options({ sim, sync })) };
        const model: Model = { entries: [], next: 0 };
        try {
          await fc.asyncModelRun(() => ({ model, real }), cmds);
          expect(real.wal.nextSequence).toBe(model.next);
          await real.wal.close();
          expect(onDisk(real)).toEqual(model.entries);
          const reopened = await Wal.open(options(real));
          expect(reopened.nextSequence).toBe(model.next);
          await reopened.close();
          expect(real.sim.openHandles).toBe(0);
        } finally {
          await real.wal.close();
        }
      }),
      { numRuns: 100 },
    );
  },
);
