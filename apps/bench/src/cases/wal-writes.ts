import {
  describeWrites,
  driveWrites,
  randomBytes,
  removeDir,
  type SliceCase,
  tempDir,
  type WriteMode,
} from '../harness.js';
import { openWal, type SyncMode, type WalWriter, type WalWriterOptions } from '../wal-api.js';

/**
 * @wal puts at a concurrency, or batches, under a sync mode; `options` for
 * the write study's variants (the caller names them).
 */
export function walWrites(
  valueBytes: number,
  mode: WriteMode & { sync: SyncMode },
  options: Omit<WalWriterOptions, 'sync'> = {},
): SliceCase {
  let dir = '';
  let wal: WalWriter;
  const value = randomBytes(valueBytes, 5);
  return {
    name: `@wal: ${describeWrites(mode)}, sync:'${mode.sync}' (${valueBytes} B)`,
    async setup() {
      dir = tempDir('wal');
      wal = await openWal(dir, { ...options, sync: mode.sync });
    },
    run: (ms) => driveWrites(mode, ms, value, wal),
    async teardown() {
      await wal.close();
      removeDir(dir);
    },
  };
}
