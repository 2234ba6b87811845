// Model-based test: random command sequences run against the table and the
// model, the whole state compared after every command. Callers' buffers are
// scribbled over after each call, so a table that kept a reference fails.
import { Memtable } from '@wal/memtable';
import fc from 'fast-check';
import { expect, test } from 'vitest';
import {
  bytesOf,
  expectSameState,
  type Input,
  Model,
  type ModelRange,
  render,
  renderModel,
} from './model.js';

type Real = Memtable;

// Few distinct bytes, so keys collide, share prefixes and are prefixes of one
// another; 0x00 and 0xff sit at the edges of the unsigned order.
const byte = fc.constantFrom(0x00, 0x01, 0x61, 0x62, 0x7f, 0x80, 0xc3, 0xa9, 0xff);
const bytesKey = fc.array(byte, { maxLength: 4 }).map((a) => Uint8Array.from(a));
const stringKey = fc.oneof(
  fc.constantFrom('', 'a', 'ab', 'b', 'é', 'e\u0301', '\u00ff', '€', '😀', 'a\u0000', '\ud800'),
  fc.string({ unit: 'binary', maxLength: 3 }),
);
const key: fc.Arbitrary<Input> = fc.oneof(bytesKey, stringKey);
const value: fc.Arbitrary<Input> = fc.oneof(
  fc.uint8Array({ maxLength: 6 }),
  fc.string({ maxLength: 4 }),
);
// Any mix of abstract-level's range options, bounds present, absent or
// explicitly undefined; never gt with gte or lt with lte (refused, see errors.test.ts).
const maybe = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { freq: 4, nil: undefined });
const rangeOptions: fc.Arbitrary<ModelRange> = fc
  .record(
    {
      gt: maybe(key),
      gte: maybe(key),
      lt: maybe(key),
      lte: maybe(key),
      reverse: maybe(fc.boolean()),
      limit: maybe(fc.oneof(fc.nat(5), fc.constantFrom(-1, Number.POSITIVE_INFINITY))),
    },
    { requiredKeys: [] },
  )
  .map((options) => {
    if ('gt' in options) delete options.gte;
    if ('lt' in options) delete options.lte;
    return options;
  });

/** A private copy for the call, scribbled over afterwards. */
function lend(input: Input, use: (arg: Input) => void): void {
  if (typeof input === 'string') {
    use(input);
    return;
  }
  const copy = Uint8Array.from(input);
  use(copy);
  copy.fill(0xee);
}

class Put implements fc.Command<Model, Real> {
  constructor(
    readonly key: Input,
    readonly value: Input,
  ) {}
  check = () => true;
  run(model: Model, table: Real): void {
    lend(this.key, (k) => lend(this.value, (v) => table.put(k, v)));
    model.put(this.key, this.value);
    expectSameState(table, model);
  }
  toString = () => `put(${show(this.key)}, ${show(this.value)})`;
}

class Delete implements fc.Command<Model, Real> {
  constructor(readonly key: Input) {}
  check = () => true;
  run(model: Model, table: Real): void {
    lend(this.key, (k) => table.delete(k));
    model.delete(this.key);
    expectSameState(table, model);
  }
  toString = () => `delete(${show(this.key)})`;
}

class Read implements fc.Command<Model, Real> {
  constructor(readonly key: Input) {}
  check = () => true;
  run(model: Model, table: Real): void {
    const expected = model.get(this.key);
    const got = table.get(this.key);
    expect(got === undefined ? undefined : [...got]).toEqual(
      expected === undefined ? undefined : [...expected],
    );
    expect(table.has(this.key)).toBe(expected !== undefined);
  }
  toString = () => `get(${show(this.key)})`;
}

class Range implements fc.Command<Model, Real> {
  constructor(readonly options: ModelRange) {}
  check = () => true;
  run(model: Model, table: Real): void {
    expect(render(table.range(this.options))).toBe(renderModel(model.range(this.options)));
  }
  toString = () =>
    `range({ ${Object.entries(this.options)
      .map(
        ([name, v]) => `${name}: ${typeof v === 'object' || typeof v === 'string' ? show(v) : v}`,
      )
      .join(', ')} })`;
}

/** A log entry whose key and value are views into one larger chunk, as recovery gives them. */
class Apply implements fc.Command<Model, Real> {
  constructor(
    readonly step: number,
    readonly key: Uint8Array,
    readonly value: Uint8Array | undefined,
  ) {}
  check = () => true;
  run(model: Model, table: Real): void {
    const sequence = Math.max(0, (model.lastSequence ?? -1) + this.step);
    const chunk = new Uint8Array(this.key.length + (this.value?.length ?? 0) + 8);
    chunk.set(this.key, 4);
    const key = chunk.subarray(4, 4 + this.key.length);
    let applied: boolean;
    if (this.value === undefined) {
      applied = table.apply({ sequence, type: 'delete', key });
    } else {
      chunk.set(this.value, 4 + key.length);
      const value = chunk.subarray(4 + key.length, 4 + key.length + this.value.length);
      applied = table.apply({ sequence, type: 'put', key, value });
    }
    chunk.fill(0xee);
    const expected = model.lastSequence === null || sequence > model.lastSequence;
    expect(applied).toBe(expected);
    if (expected) {
      if (this.value === undefined) model.delete(this.key);
      else model.put(this.key, this.value);
      model.lastSequence = sequence;
    }
    expectSameState(table, model);
  }
  toString = () => `apply(+${this.step}, ${show(this.key)}, ${show(this.value)})`;
}

class Clear implements fc.Command<Model, Real> {
  check = () => true;
  run(model: Model, table: Real): void {
    table.clear();
    model.clear();
    expectSameState(table, model);
    expect(table.shouldFlush()).toBe(false);
  }
  toString = () => 'clear()';
}

const show = (input: Input | undefined): string =>
  input === undefined
    ? 'undefined'
    : typeof input === 'string'
      ? JSON.stringify(input)
      : `<${bytesOf(input).toString('hex')}>`;

const commands = [
  fc.tuple(key, value).map(([k, v]) => new Put(k, v)),
  fc.tuple(key, value).map(([k, v]) => new Put(k, v)),
  key.map((k) => new Delete(k)),
  key.map((k) => new Read(k)),
  rangeOptions.map((options) => new Range(options)),
  rangeOptions.map((options) => new Range(options)),
  fc
    .tuple(
      fc.integer({ min: -2, max: 3 }),
      bytesKey,
      fc.option(fc.uint8Array({ maxLength: 6 }), { nil: undefined }),
    )
    .map(([step, k, v]) => new Apply(step, k, v)),
  fc.constant(new Clear()),
];

test('the table behaves as a Map sorted on read, for any sequence of operations', () => {
  fc.assert(
    fc.property(fc.commands(commands, { maxCommands: 80 }), (cmds) => {
      fc.modelRun(() => ({ model: new Model(), real: new Memtable() }), cmds);
    }),
    { numRuns: 300 },
  );
});
