// Model-based test: random sequences of appends, rotations, syncs,
// truncations, reopens, kills, power losses and torn tails, in every sync
// mode, checked against a list of entries. It runs on SimFs, so a kill is a
// real kill: the next process sees the page cache, and nothing acknowledged
// may be missing. With in-flight syncs, appends keep coming while a group
// syncs, and a power loss can strike while one is in flight.
import { type SyncMode, Wal } from '@wal/fs';
import { SimFs } from '@wal/fs/testing';
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { concat, type Entry, readEntries, simDisk } from './helpers.js';

interface Model {
  entries: Entry[];
  next: number;
  /** Entries a power loss may not take: acknowledged under 'always', or synced. */
  durable: number;
}

interface Real {
  sim: SimFs;
  wal: Wal;
  sync: SyncMode;
}

type Command = fc.AsyncCommand<Model, Real>;

const dir = '/log';
const options = (r: Pick<Real, 'sim' | 'sync'>) => ({
  preallocateBytes: 64,
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
    if (r.sync === 'always') m.durable = m.entries.length;
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
    if (r.sync === 'always') m.durable = m.entries.length;
  }
  toString = () => `batch(${this.ops.length})`;
}

class RotateCommand implements Command {
  check = () => true;
  async run(m: Model, r: Real) {
    const segment = r.wal.segment;
    await r.wal.rotate();
    expect(r.wal.segment).toBe(segment + 1);
    m.durable = m.entries.length;
  }
  toString = () => 'rotate';
}

class SyncCommand implements Command {
  check = () => true;
  async run(m: Model, r: Real) {
    await r.wal.sync();
    m.durable = m.entries.length;
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
    m.durable = Math.max(0, m.durable - (m.entries.length - left.length));
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
    m.durable = m.entries.length; // close synced everything
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
    m.durable = m.entries.length; // open made what it found durable
  }
  toString = () => 'kill+reopen';
}

// Power loss while appends are in flight: puts are issued on their own
// schedule (not one after another), the loss strikes after a few turns of
// the event loop, wherever the writer is (a write, or a sync in flight).
// What the image holds is a prefix of the log and the puts issued, with
// every durable entry and every put acknowledged before it (under
// 'always'); the log goes on from there.
class CrashCommand implements Command {
  constructor(
    readonly puts: number,
    readonly turns: number,
    readonly seed: number,
  ) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const issued: Entry[] = [];
    const acknowledged = new Set<number>();
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < this.puts; i++) {
      const e: Entry = { sequence: m.next + i, type: 'put', key: `c${i}`, value: `v${i}` };
      issued.push(e);
      calls.push(
        r.wal.put(e.key, e.value ?? '').then((sequence) => {
          expect(sequence).toBe(e.sequence);
          acknowledged.add(sequence);
        }),
      );
      await new Promise((resolve) => setImmediate(resolve));
    }
    for (let t = 0; t < this.turns; t++) await new Promise((resolve) => setImmediate(resolve));
    const mustKeep = Math.max(
      m.durable,
      r.sync === 'always' ? m.entries.length + acknowledged.size : 0,
    );
    const image = r.sim.crash(this.seed);
    await Promise.all(calls);
    await r.wal.close();
    r.sim = image;
    r.wal = await Wal.open(options(r));
    const after = onDisk(r);
    expect(after.length).toBeGreaterThanOrEqual(mustKeep);
    expect(after).toEqual([...m.entries, ...issued].slice(0, after.length));
    // The log's entries are contiguous from its first sequence (retention may have moved it).
    m.next = m.next - m.entries.length + after.length;
    expect(r.wal.nextSequence).toBe(m.next);
    m.entries = after;
    m.durable = after.length; // open made what it found durable
  }
  toString = () => `crash(${this.puts} puts, ${this.turns} turns, seed ${this.seed})`;
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
  fc
    .tuple(fc.integer({ min: 1, max: 6 }), fc.nat({ max: 6 }), fc.nat())
    .map(([n, turns, seed]) => new CrashCommand(n, turns, seed)),
];

test.each([
  ['always', false],
  ['interval', false],
  ['none', false],
  ['always', true],
  ['interval', true],
  ['none', true],
] as const)(
  "random command sequences agree with the model, on disk and after reopen (sync: '%s', syncs in flight: %s)",
  async (sync, inFlight) => {
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 40 }), async (cmds) => {
        const sim = new SimFs({ inFlightSyncs: inFlight });
        const real: Real = { sim, sync, wal: await Wal.open(options({ sim, sync })) };
        const model: Model = { entries: [], next: 0, durable: 0 };
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
