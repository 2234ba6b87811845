import { Store } from './store.js';
import { calls, toBatch } from './workload.js';

/**
 * The writer child: opens the store, then issues calls from the round's
 * deterministic workload with `CONCURRENCY` in flight, and tells the parent
 * each acknowledged sequence as soon as its promise resolves. It runs until
 * the parent kills it with SIGKILL.
 */
const [dir, seed, round] = process.argv.slice(2);
const CONCURRENCY = 8;
const CHECKPOINT_EVERY = 2_000;

const send = (message: object) => process.send?.(message);
const store = await Store.open(dir as string, { maxSegmentBytes: 64 * 1024 });
send({ kind: 'ready', nextSequence: store.nextSequence });

const workload = calls(Number(seed), Number(round));
let sinceCheckpoint = 0;
let checkpointing = false;

async function loop(): Promise<void> {
  for (;;) {
    const call = workload.next().value;
    if (!call) return;
    const first =
      call.kind === 'put'
        ? await store.put(call.ops[0]?.key as string, call.ops[0]?.value as string)
        : call.kind === 'delete'
          ? await store.delete(call.ops[0]?.key as string)
          : await store.batch(toBatch(call));
    send({ kind: 'ack', last: first + call.ops.length - 1 });
    sinceCheckpoint += call.ops.length;
    if (sinceCheckpoint >= CHECKPOINT_EVERY && !checkpointing) {
      checkpointing = true;
      sinceCheckpoint = 0;
      await store.checkpoint();
      checkpointing = false;
    }
  }
}

await Promise.all(Array.from({ length: CONCURRENCY }, loop));
