/**
 * The workload behind the strace proof that no fsync or fdatasync runs on
 * the main thread: open, 256 concurrent durable puts (a few rounds), a
 * rotation, close. Run it under strace with io_uring off (libuv would
 * otherwise submit some file operations through it, not as syscalls):
 *
 *   UV_USE_IO_URING=0 strace -f -y -e trace=fdatasync,fsync,write,pwrite64,writev \
 *     -o /tmp/wal-strace.txt node --conditions=@wal/source --import tsx \
 *     apps/bench/src/strace-proof.ts
 *
 * It prints the main thread's id (the process id): strace's lines for that
 * id must show no fsync or fdatasync,
 *
 *   grep -E '^<pid> (fsync|fdatasync)\(' /tmp/wal-strace.txt
 *
 * prints nothing, while without the pid it finds every one of them on
 * libuv's pool threads. Under 'always' every write to the active segment
 * (groups, zeros, seal, mark) is a durable `pwrite64` (its handle opened
 * `O_DSYNC`), on the pool too; the main thread makes only small writes on
 * plain handles (a new segment's header, under its temporary name).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Wal } from '@wal/fs';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-strace-'));
try {
  const wal = await Wal.open({ dir, sync: 'always' });
  const value = new Uint8Array(100).fill(0x61);
  for (let round = 0; round < 4; round++) {
    await Promise.all(Array.from({ length: 256 }, (_, i) => wal.put(`key-${round}-${i}`, value)));
  }
  await wal.rotate();
  await Promise.all(Array.from({ length: 256 }, (_, i) => wal.put(`after-${i}`, value)));
  await wal.close();
  process.stdout.write(
    `main thread ${process.pid}: open, 5 x 256 durable puts, a rotation and close in ${dir}\n`,
  );
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
