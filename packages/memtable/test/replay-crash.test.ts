import { type BatchOp, Wal } from '@wal/fs';
import { SimFs } from '@wal/fs/testing';
import { Memtable, replay } from '@wal/memtable';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { expectSameState, Model } from './model.js';

// A table rebuilt by replay after a power loss holds exactly a prefix of the
// records written: every one durable before the crash, none that was never
// written, each batch whole. And a writer reopened on the same image
// continues right after that prefix, so a second replay into the same table
// misses nothing written later (a writer that continued below it would
// re-issue sequences the table skips as already held).

type Op =
  | { type: 'put'; key: string; value: string }
  | { type: 'delete'; key: string }
  | { type: 'batch'; ops: BatchOp[] };

const key = fc.constantFrom('a', 'b', 'c', 'd', 'e');
const put = fc.record({
  type: fc.constant('put' as const),
  key,
  value: fc.string({ maxLength: 160, size: 'max' }),
});
const del = fc.record({ type: fc.constant('delete' as const), key });
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: put },
  { weight: 2, arbitrary: del },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant('batch' as const),
      ops: fc.array(fc.oneof(put, del), { minLength: 1, maxLength: 4 }) as fc.Arbitrary<BatchOp[]>,
    }),
  },
);
// Each step: an op, and whether the workload then waits for what it started
// (and, under 'none', syncs) before going on.
const step = fc.record({ op, settle: fc.boolean() });

function append(wal: Wal, o: Op): Promise<number> {
  if (o.type === 'put') return wal.put(o.key, o.value);
  if (o.type === 'delete') return wal.delete(o.key);
  return wal.batch(o.ops);
}

// The model after the first `records` records; a batch's ops take
// consecutive sequences.
function modelOf(ops: readonly Op[], records: number): Model {
  const model = new Model();
  let sequence = 0;
  for (const o of ops.slice(0, records)) {
    for (const one of o.type === 'batch' ? o.ops : [o]) {
      if (one.type === 'put') model.put(one.key, one.value as string);
      else model.delete(one.key);
      model.lastSequence = sequence++;
    }
  }
  return model;
}

// The sequence after each whole record: where a replay may end.
function ends(ops: readonly Op[]): number[] {
  const out = [0];
  for (const o of ops) out.push((out.at(-1) as number) + (o.type === 'batch' ? o.ops.length : 1));
  return out;
}

describe.each(['always', 'interval', 'none'] as const)(
  "replay after a power loss, sync '%s'",
  (sync) => {
    test('rebuilds a prefix of what was written, holding everything durable; a reopened writer continues after it', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(step, { minLength: 1, maxLength: 30 }),
          fc.nat({ max: 30 }),
          fc.integer(),
          fc.array(op, { minLength: 1, maxLength: 5 }),
          async (steps, crashAfter, seed, later) => {
            const fs = new SimFs();
            const options = { dir: '/log', fs, sync, syncIntervalMs: 1, maxSegmentBytes: 700 };
            const wal = await Wal.open(options);
            const ops = steps.map((s) => s.op);
            const pending: Promise<unknown>[] = [];
            const upTo = Math.min(crashAfter, steps.length);
            for (let i = 0; i < upTo; i++) {
              const { op: o, settle } = steps[i] as (typeof steps)[number];
              // Rejections are fine here (a rotation's retention, say): what counts is the disk.
              pending.push(append(wal, o).catch(() => undefined));
              if (settle) {
                await Promise.all(pending);
                if (sync === 'none') await wal.sync();
              }
            }
            // The power goes: what was durable stays, the rest as a random plan decides.
            const durable = wal.durableSequence;
            const crashed = fs.crash(seed);
            await Promise.all(pending);
            await wal.close().catch(() => undefined);

            const table = new Memtable();
            await replay('/log', table, { fs: crashed });
            const next = table.lastSequence === null ? 0 : table.lastSequence + 1;
            const records = ends(ops).indexOf(next);
            // Batches whole, nothing invented, everything durable kept.
            expect(records, `replay ended at ${next}, inside a record`).toBeGreaterThanOrEqual(0);
            expect(records).toBeLessThanOrEqual(upTo);
            expect(next).toBeGreaterThanOrEqual(durable);
            expectSameState(table, modelOf(ops, records));

            const reopened = await Wal.open({ ...options, fs: crashed });
            expect(reopened.nextSequence).toBe(next);
            for (const o of later) await append(reopened, o);
            await reopened.close();
            await replay('/log', table, { fs: crashed });
            const all = [...ops.slice(0, records), ...later];
            expectSameState(table, modelOf(all, all.length));
          },
        ),
        { numRuns: 60 },
      );
    });
  },
);
