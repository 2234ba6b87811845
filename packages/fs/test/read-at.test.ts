// readAt reads into buffers it does not zero first: what it returns must
// never let bytes it did not read be seen, also through the view's `.buffer`.
import fs from 'node:fs';
import path from 'node:path';
import { nodeFs, type WalFs } from '@wal/fs';
import { readAt } from '@wal/fs/internal';
import { expect, test } from 'vitest';
import { tempDir } from './helpers.js';

test('a read cut short by the end of the file leaves zeros past what it read, also behind the view', async () => {
  // A file system that scribbles over the whole buffer but reports a short
  // read: only the bytes it reports may be taken as read.
  let calls = 0;
  const scribbler = {
    read: async (_fd: number, buffer: Uint8Array, offset: number, length: number) => {
      buffer.fill(0xee, offset, offset + length);
      return calls++ === 0 ? 10 : 0;
    },
  } as unknown as WalFs;
  const bytes = await readAt(scribbler, 3, 0, 4096, 'f');
  expect([...bytes]).toEqual(Array(10).fill(0xee));
  const behind = new Uint8Array(bytes.buffer, bytes.byteOffset);
  expect(behind.subarray(10).every((b) => b === 0)).toBe(true);
});

test('a read cut short by the end of a real file returns its bytes only', async () => {
  const file = path.join(tempDir(), 'short');
  fs.writeFileSync(file, new Uint8Array(100).fill(7));
  const fd = await nodeFs.open(file, 'r');
  try {
    const bytes = await readAt(nodeFs, fd, 40, 256 * 1024, file);
    expect(bytes.length).toBe(60);
    expect(bytes.every((b) => b === 7)).toBe(true);
    expect(new Uint8Array(bytes.buffer).subarray(60).every((b) => b === 0)).toBe(true);
  } finally {
    await nodeFs.close(fd);
  }
});

test('a full read returns exactly the file bytes', async () => {
  const file = path.join(tempDir(), 'full');
  const data = new Uint8Array(5000).map((_, i) => (i * 31) & 0xff);
  fs.writeFileSync(file, data);
  const fd = await nodeFs.open(file, 'r');
  try {
    const bytes = await readAt(nodeFs, fd, 1000, 3000, file);
    expect(bytes.byteLength).toBe(3000);
    expect(bytes.buffer.byteLength).toBe(3000);
    expect(Buffer.from(bytes).equals(Buffer.from(data.subarray(1000, 4000)))).toBe(true);
  } finally {
    await nodeFs.close(fd);
  }
});
