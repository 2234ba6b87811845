import { type SyncMode, Wal } from '@wal/fs';
import {
  concurrently,
  keyFor,
  randomBytes,
  removeDir,
  type SliceCase,
  tempDir,
} from '../harness.js';

/** @wal puts at a concurrency, or batches, under a sync mode. */
export function walWrites(
  valueBytes: number,
  mode: { concurrency: number; sync: SyncMode; batch?: number },
): SliceCase {
  let dir = '';
  let wal: Wal;
  const value = randomBytes(valueBytes, 5);
  let i = 0;
  const what = mode.batch ? `batch(${mode.batch})` : `put x${mode.concurrency}`;
  return {
    name: `@wal: ${what}, sync:'${mode.sync}' (${valueBytes} B)`,
    async setup() {
      dir = tempDir('wal');
      wal = await Wal.open({ dir, sync: mode.sync });
    },
    run(ms) {
      const size = mode.batch;
      if (size) {
        return concurrently(mode.concurrency, ms, size, () =>
          wal.batch(
            Array.from({ length: size }, () => ({ type: 'put' as const, key: keyFor(i++), value })),
          ),
        );
      }
      return concurrently(mode.concurrency, ms, 1, () => wal.put(keyFor(i++), value));
    },
    async teardown() {
      await wal.close();
      removeDir(dir);
    },
  };
}
