import { type SyncMode, Wal } from '@wal/fs';
import {
  describeWrites,
  driveWrites,
  randomBytes,
  removeDir,
  type SliceCase,
  tempDir,
  type WriteMode,
} from '../harness.js';

/** @wal puts at a concurrency, or batches, under a sync mode. */
export function walWrites(valueBytes: number, mode: WriteMode & { sync: SyncMode }): SliceCase {
  let dir = '';
  let wal: Wal;
  const value = randomBytes(valueBytes, 5);
  return {
    name: `@wal: ${describeWrites(mode)}, sync:'${mode.sync}' (${valueBytes} B)`,
    async setup() {
      dir = tempDir('wal');
      wal = await Wal.open({ dir, sync: mode.sync });
    },
    run: (ms) => driveWrites(mode, ms, value, wal),
    async teardown() {
      await wal.close();
      removeDir(dir);
    },
  };
}
