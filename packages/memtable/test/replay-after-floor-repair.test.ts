// Replay over a checkpoint after `repair({ floor })`: the log's last segment
// is unreadable (magic, salt and first frame's length rotted), so only the
// operator's floor says where the log continues.
import { HEADER_SALT_OFFSET, SEGMENT_HEADER_SIZE } from '@wal/codec';
import { Wal } from '@wal/fs';
import { SimFs } from '@wal/fs/testing';
import { Memtable, replay } from '@wal/memtable';
import { repair } from '@wal/recovery';
import { expect, test } from 'vitest';

const text = (b: Uint8Array | undefined) =>
  b === undefined ? undefined : Buffer.from(b).toString();

function flip(bytes: Uint8Array, at: number, mask = 0x01): Uint8Array {
  const out = bytes.slice();
  out[at] = (out[at] as number) ^ mask;
  return out;
}

async function rottedAfterCheckpoint() {
  const sim = new SimFs();
  const wal = await Wal.open({ dir: '/wal', fs: sim });
  for (let i = 0; i < 9; i++) {
    await wal.put(`k${i}`, `v${i}`);
    if (i === 1 || i === 4) await wal.rotate();
  }
  const last = wal.file;
  await wal.close();
  const checkpoint = new Memtable();
  await replay('/wal', checkpoint, { fs: sim });
  expect(checkpoint.lastSequence).toBe(8);
  let bytes = flip(sim.readFile(last), 0);
  bytes = flip(bytes, HEADER_SALT_OFFSET);
  bytes = flip(bytes, SEGMENT_HEADER_SIZE, 0x40);
  sim.writeFile(last, bytes);
  return { sim, checkpoint, logId: wal.logId };
}

test('floor = the checkpoint + 1: replay over the checkpoint applies exactly what came after the repair', async () => {
  const { sim, checkpoint, logId } = await rottedAfterCheckpoint();
  const done = await repair('/wal', { fs: sim, floor: 9 });
  expect(done.nextSequence).toBe(9);
  const wal = await Wal.open({ dir: '/wal', fs: sim });
  expect(wal.logId).toBe(logId);
  expect(await wal.put('after', 'x')).toBe(9);
  await wal.close();
  const result = await replay('/wal', checkpoint, { fs: sim });
  expect(result).toMatchObject({ applied: 1, nextSequence: 10 });
  expect(checkpoint.lastSequence).toBe(9);
  expect(text(checkpoint.get('after'))).toBe('x');
  for (let i = 0; i < 9; i++) expect(text(checkpoint.get(`k${i}`))).toBe(`v${i}`);
  // A table without the checkpoint sees the loss as a hole, never as data.
  const fresh = new Memtable();
  const again = await replay('/wal', fresh, { fs: sim });
  expect(again.stats.holes.at(-1)).toMatchObject({ nextSequence: 9 });
  expect(fresh.has('k5')).toBe(false);
  expect(text(fresh.get('after'))).toBe('x');
});
