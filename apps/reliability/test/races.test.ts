import { ErrorCode, WalError } from '@wal/codec';
import { type BatchOp, Wal } from '@wal/fs';
import { SimFs } from '@wal/fs/testing';
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { freshFs, reopenAndCheck, walOptions } from './support/check.js';
import { History } from './support/history.js';
import { settings } from './support/settings.js';

type Action =
  | { kind: 'append'; ops: BatchOp[]; as: 'put' | 'delete' | 'batch' }
  | { kind: 'sync' | 'rotate' | 'close' | 'tick' };

const key = fc.constantFrom('a', 'b', 'c');
const put = fc.record({
  type: fc.constant('put' as const),
  key,
  value: fc.string({ maxLength: 300 }),
});
const del = fc.record({ type: fc.constant('delete' as const), key });
const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 6, arbitrary: put.map((op): Action => ({ kind: 'append', ops: [op], as: 'put' })) },
  { weight: 2, arbitrary: del.map((op): Action => ({ kind: 'append', ops: [op], as: 'delete' })) },
  {
    weight: 2,
    arbitrary: fc
      .array(fc.oneof(put, del), { minLength: 1, maxLength: 3 })
      .map((ops): Action => ({ kind: 'append', ops, as: 'batch' })),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom<Action>({ kind: 'sync' }, { kind: 'rotate' }, { kind: 'tick' }),
  },
  { weight: 1, arbitrary: fc.constant<Action>({ kind: 'close' }) },
);

test('scheduler: appends, syncs and rotations racing close resolve in sequence order, and close waits for them', async () => {
  const seed = settings.modelSeed;
  console.info(`races seed ${seed} (replay: WAL_MODEL_SEED=${seed})`);
  await fc.assert(
    fc.asyncProperty(
      fc.scheduler(),
      fc.array(action, { minLength: 1, maxLength: 16 }),
      async (s, actions) => {
        const fs = await freshFs(new SimFs());
        const history = new History();
        const wal = await Wal.open(walOptions(fs, { maxSegmentBytes: 512 }));
        const resolved: number[] = [];
        const problems: string[] = [];
        // Each call starts when the scheduler releases it; ticks let the
        // writer's group commit run between releases.
        const runs = actions.map((a, i) =>
          s.schedule(Promise.resolve(), `${i}: ${a.kind}`).then(async () => {
            if (a.kind === 'tick') return new Promise<void>((r) => setImmediate(r));
            const open = wal.state === 'open';
            const call =
              a.kind === 'append'
                ? history.append(wal, a.ops, a.as).then((sequence) => void resolved.push(sequence))
                : a.kind === 'close'
                  ? wal.close()
                  : a.kind === 'sync'
                    ? wal.sync()
                    : wal.rotate();
            const error = await call.then(
              () => undefined,
              (e: unknown) => e,
            );
            // Before close everything succeeds; after it, all but close is WAL_CLOSED.
            const fine =
              open || a.kind === 'close'
                ? error === undefined
                : WalError.isInstance(error, ErrorCode.CLOSED);
            if (!fine)
              problems.push(`${i}: ${a.kind} ${open ? 'before' : 'after'} close: ${String(error)}`);
          }),
        );
        await s.waitFor(Promise.all(runs));
        await wal.close();
        expect(problems).toEqual([]);
        expect(resolved).toEqual([...resolved].sort((x, y) => x - y));
        expect(history.violations).toEqual([]);
        expect([fs.openHandles, fs.locks]).toEqual([0, 0]);
        // What resolved was durable: it survives the worst power loss.
        await (await reopenAndCheck(fs.crash(), history)).close();
      },
    ),
    { numRuns: settings.modelRuns, seed },
  );
}, 600_000);
