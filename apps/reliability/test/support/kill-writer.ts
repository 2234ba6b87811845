/**
 * The writer the SIGKILL loop kills: opens the log in argv[2] (with the sync
 * mode in argv[3], default 'always') and appends until it is killed, several appends at a time. It prints `open <next>`
 * once open, and `ack <first> <count>` as each append resolves (stdout is
 * synchronous on a pipe, so a printed ack reached the parent before the kill).
 *
 * Run: node --conditions=@wal/source --import tsx/esm kill-writer.ts <dir> [always|interval|none]
 * (the kill loop runs it bundled).
 */
import { type SyncMode, Wal } from '@wal/fs';
import { recordAt } from './kill-records.js';

const dir = process.argv[2] as string;
const sync = (process.argv[3] ?? 'always') as SyncMode;
const wal = await Wal.open({ dir, sync, maxSegmentBytes: 16 * 1024 });
process.stdout.write(`open ${wal.nextSequence}\n`);
for (let group = 0; ; group++) {
  const appends: Promise<void>[] = [];
  for (let i = 0; i < 1 + (group % 8); i++) {
    const first = wal.nextSequence;
    const ops = recordAt(first);
    const op = ops[0];
    const append =
      ops.length > 1 || !op
        ? wal.batch(ops)
        : op.type === 'put'
          ? wal.put(op.key, op.value)
          : wal.delete(op.key);
    appends.push(append.then((seq) => void process.stdout.write(`ack ${seq} ${ops.length}\n`)));
  }
  if (group % 50 === 49) appends.push(wal.rotate());
  await Promise.all(appends);
}
