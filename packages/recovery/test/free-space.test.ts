// A scan counts the writer's preallocated zeros as free space: every byte
// of the log is in its figures (property-test counterexample: a header and
// one zero byte left 1 byte counted nowhere).
import fs from 'node:fs';
import path from 'node:path';
import { SEGMENT_HEADER_SIZE } from '@wal/codec';
import { Wal } from '@wal/fs';
import { scanLog } from '@wal/recovery';
import { expect, test } from 'vitest';
import { tempDir } from './helpers.js';

test.each(['strict', 'tolerate-tail', 'point-in-time', 'skip-corrupted'] as const)(
  '%s: the zeros after the last frame are bytesFree, the rest headers and frames',
  async (mode) => {
    const dir = path.join(tempDir(), 'wal');
    const wal = await Wal.open({ dir, preallocateBytes: 64 * 1024 });
    try {
      await wal.put('a', '1');
      await wal.put('b', '2');
      const size = fs.statSync(path.join(dir, 'wal_00000000.log')).size;
      const scan = scanLog(dir, { mode });
      for await (const _ of scan.batches());
      const { bytesRecovered, bytesSkipped, bytesUnread, bytesFree } = scan.stats;
      expect(bytesFree).toBeGreaterThan(60 * 1024);
      expect(bytesSkipped + bytesUnread).toBe(0);
      expect(SEGMENT_HEADER_SIZE + bytesRecovered + bytesFree).toBe(size);
    } finally {
      await wal.close();
    }
  },
);
