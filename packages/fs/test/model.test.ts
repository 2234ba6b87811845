// Model-based test: random sequences of appends, rotations, syncs,
// truncations, reopens and torn tails, checked against a list of entries.
import fs from 'node:fs';
import { Wal } from '@wal/fs';
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { type Entry, readEntries, tempDir } from './helpers.js';

interface Model {
  entries: Entry[];
  next: number;
}

interface Real {
  dir: string;
  wal: Wal;
}

type Command = fc.AsyncCommand<Model, Real>;

const options = (dir: string) => ({ dir, sync: 'none' as const, maxSegmentBytes: 256 });

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
  constructor(readonly ops: { key: string; value?: string }[]) {}
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
    const number = r.wal.segmentNumber;
    await r.wal.rotate();
    expect(r.wal.segmentNumber).toBe(number + 1);
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
    const before = Math.max(-1, m.next - 1 - this.back);
    if (before < 0) return;
    await r.wal.truncateBefore(before);
    // Whole segments go: what is left is a suffix holding everything after `before`.
    const left = readEntries(r.dir);
    expect(m.entries.slice(m.entries.length - left.length)).toEqual(left);
    expect(left.length).toBeGreaterThanOrEqual(m.entries.filter((e) => e.sequence > before).length);
    m.entries = left;
  }
  toString = () => `truncateBefore(next - 1 - ${this.back})`;
}

class ReopenCommand implements Command {
  constructor(readonly tear: string) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const file = r.wal.path;
    await r.wal.close();
    if (this.tear) fs.appendFileSync(file, this.tear);
    r.wal = await Wal.open(options(r.dir));
    expect(r.wal.repairs).toHaveLength(this.tear ? 1 : 0);
    expect(r.wal.nextSequence).toBe(m.next);
  }
  toString = () => (this.tear ? `tear(${this.tear.length}B)+reopen` : 'reopen');
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
  // A torn tail: bytes that cannot begin a valid frame (a length of 1).
  fc
    .oneof(
      fc.constant(''),
      fc.string({ minLength: 1, maxLength: 40 }).map((s) => `\u0001${s}`),
    )
    .map((tear) => new ReopenCommand(tear)),
];

test('random command sequences agree with the model, on disk and after reopen', async () => {
  await fc.assert(
    fc.asyncProperty(fc.commands(commands, { maxCommands: 40 }), async (cmds) => {
      const dir = tempDir();
      const real: Real = { dir, wal: await Wal.open(options(dir)) };
      const model: Model = { entries: [], next: 0 };
      try {
        await fc.asyncModelRun(() => ({ model, real }), cmds);
        expect(real.wal.nextSequence).toBe(model.next);
        await real.wal.close();
        expect(readEntries(dir)).toEqual(model.entries);
        const reopened = await Wal.open(options(dir));
        expect(reopened.nextSequence).toBe(model.next);
        await reopened.close();
      } finally {
        await real.wal.close();
      }
    }),
    { numRuns: 60 },
  );
});
