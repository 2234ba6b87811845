import {
  describeWrites,
  driveWrites,
  randomBytes,
  removeDir,
  type SliceCase,
  tempDir,
  type WriteMode,
} from '../harness.js';
import { openWal, type SyncMode, type WalWriter } from '../wal-api.js';

/** @wal puts at a concurrency, or batches, under a sync mode. */
export function walWrites(valueBytes: number, mode: WriteMode & { sync: SyncMode }): SliceCase {
  let dir = '';
  let wal: WalWriter;
  const value = randomBytes(valueBytes, 5);
  return {
    name: `@wal: ${describeWrites(mode)}, sync:'${mode.sync}' (${valueBytes} B)`,
    async setup() {
      dir = tempDir('wal');
      wal = await openWal(dir, { sync: mode.sync });
    },
    run: (ms) => driveWrites(mode, ms, value, wal),
    async teardown() {
      await wal.close();
      removeDir(dir);
    },
  };
}
