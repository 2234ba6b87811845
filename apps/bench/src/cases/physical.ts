import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import zlib from 'node:zlib';
import type { CaseResult, SliceCase } from '../harness.js';
import { keyFor, randomBytes, removeDir, repeat, tempDir } from '../harness.js';

/** `writeSync` + `fdatasyncSync` of one small record, repeated: the durable-op limit without batching. */
export function rawFdatasync(valueBytes: number): SliceCase {
  let dir = '';
  let fd = -1;
  const record = randomBytes(16 + valueBytes + 8, 1);
  return {
    name: `physical: writeSync+fdatasync, 1 record (${valueBytes} B)`,
    async setup() {
      dir = tempDir('raw');
      fd = fs.openSync(path.join(dir, 'raw.log'), 'a');
    },
    async run(ms) {
      const deadline = performance.now() + ms;
      let n = 0;
      while (performance.now() < deadline) {
        fs.writeSync(fd, record);
        fs.fdatasyncSync(fd);
        n++;
      }
      return n;
    },
    async teardown() {
      fs.closeSync(fd);
      removeDir(dir);
    },
  };
}

/**
 * `fs.write` + `fs.fdatasync` of one small record through the callback API,
 * repeated: the durable-op limit for one writer that keeps the event loop free.
 */
export function rawFdatasyncCallbacks(valueBytes: number): SliceCase {
  let dir = '';
  let fd = -1;
  const record = randomBytes(16 + valueBytes + 8, 1);
  return {
    name: `physical: fs.write+fs.fdatasync callbacks, 1 record (${valueBytes} B)`,
    async setup() {
      dir = tempDir('raw-async');
      fd = fs.openSync(path.join(dir, 'raw.log'), 'a');
    },
    run(ms) {
      const deadline = performance.now() + ms;
      let n = 0;
      return new Promise((resolve, reject) => {
        const next = () => {
          if (performance.now() >= deadline) return resolve(n);
          fs.write(fd, record, 0, record.length, null, (writeError) => {
            if (writeError) return reject(writeError);
            fs.fdatasync(fd, (syncError) => {
              if (syncError) return reject(syncError);
              n++;
              next();
            });
          });
        };
        next();
      });
    },
    async teardown() {
      fs.closeSync(fd);
      removeDir(dir);
    },
  };
}

const SYNC_WRITE_BYTES = 128;
const PREALLOCATED_BYTES = 16 << 20;

/**
 * `writeSync` of 128 bytes + `fdatasyncSync`, either appended to a growing
 * file or written over a preallocated, zero-filled one (no size change to
 * journal). Reports syncs/s and the median time of one fdatasync call: the
 * physical limit the writer's one-writer target is judged beside.
 */
export function fdatasyncAfterWrite(kind: 'append' | 'overwrite'): SliceCase {
  let dir = '';
  let fd = -1;
  let position = 0;
  const chunk = randomBytes(SYNC_WRITE_BYTES, 8);
  return {
    name:
      kind === 'append'
        ? `physical: fdatasync after a ${SYNC_WRITE_BYTES} B append`
        : `physical: fdatasync after a ${SYNC_WRITE_BYTES} B overwrite of a preallocated, zero-filled file`,
    unit: 'syncs/s',
    async setup() {
      dir = tempDir(`sync-${kind}`);
      const file = path.join(dir, `${kind}.log`);
      fd = fs.openSync(file, kind === 'append' ? 'a' : 'w+');
      if (kind === 'overwrite') {
        // Real zeros, not fallocate: unwritten extents would still need
        // converting (and journaling) on first write.
        const zeros = Buffer.alloc(1 << 20);
        for (let p = 0; p < PREALLOCATED_BYTES; p += zeros.length)
          fs.writeSync(fd, zeros, 0, zeros.length, p);
        fs.fsyncSync(fd);
        const dirFd = fs.openSync(dir, 'r');
        fs.fsyncSync(dirFd);
        fs.closeSync(dirFd);
      }
    },
    async run(ms) {
      const deadline = performance.now() + ms;
      const syncMicros: number[] = [];
      while (performance.now() < deadline) {
        if (kind === 'append') fs.writeSync(fd, chunk);
        else {
          fs.writeSync(fd, chunk, 0, chunk.length, position);
          position = (position + chunk.length) % PREALLOCATED_BYTES;
        }
        const start = performance.now();
        fs.fdatasyncSync(fd);
        syncMicros.push((performance.now() - start) * 1000);
      }
      syncMicros.sort((a, b) => a - b);
      return {
        ops: syncMicros.length,
        extra: { 'µs per fdatasync (median)': syncMicros[syncMicros.length >> 1] ?? 0 },
      };
    },
    async teardown() {
      fs.closeSync(fd);
      removeDir(dir);
    },
  };
}

/**
 * The Rust original, translated: one `writeSync` of a length-prefixed,
 * crc-32-checked entry per put, optionally with an fdatasync each.
 */
export function naiveWal(valueBytes: number, fsync: boolean): SliceCase {
  let dir = '';
  let fd = -1;
  const value = randomBytes(valueBytes, 2);
  let seq = 0;
  return {
    name: `naive WAL: writeSync per entry${fsync ? ' + fdatasync' : ', no fsync'} (${valueBytes} B)`,
    async setup() {
      dir = tempDir('naive');
      fd = fs.openSync(path.join(dir, 'naive.log'), 'a');
    },
    async run(ms) {
      const deadline = performance.now() + ms;
      let n = 0;
      while (performance.now() < deadline) {
        for (let k = 0; k < 64; k++) {
          fs.writeSync(fd, encodeNaive(seq++, keyFor(seq), value));
          if (fsync) fs.fdatasyncSync(fd);
          n++;
        }
      }
      return n;
    },
    async teardown() {
      fs.closeSync(fd);
      removeDir(dir);
    },
  };
}

/** The original's entry layout: len, magic, seq, type, key len, key, value len, value, crc. */
export function encodeNaive(seq: number, key: Uint8Array, value: Uint8Array): Buffer {
  const body = Buffer.allocUnsafe(4 + 8 + 1 + 4 + key.length + 4 + value.length + 4);
  let p = body.writeUInt32LE(0x57414c, 0);
  p = body.writeBigUInt64LE(BigInt(seq), p);
  p = body.writeUInt8(1, p);
  p = body.writeUInt32LE(key.length, p);
  body.set(key, p);
  p += key.length;
  p = body.writeUInt32LE(value.length, p);
  body.set(value, p);
  p += value.length;
  body.writeUInt32LE(zlib.crc32(body.subarray(4, p)), p);
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeUInt32LE(body.length, 0);
  out.set(body, 4);
  return out;
}

/** `writev` of many small buffers plus one fsync: the bandwidth limit (MB/s). */
export async function writevBandwidth(rounds: number, totalBytes: number): Promise<CaseResult> {
  const buffers = Array.from({ length: 1024 }, (_, i) => randomBytes(128, i + 1));
  return repeat('physical: writev of 128 B buffers + 1 fdatasync', 'MB/s', rounds, () => {
    const dir = tempDir('writev');
    try {
      const fd = fs.openSync(path.join(dir, 'bw.log'), 'a');
      const start = performance.now();
      let written = 0;
      while (written < totalBytes) written += fs.writevSync(fd, buffers);
      fs.fdatasyncSync(fd);
      const seconds = (performance.now() - start) / 1000;
      fs.closeSync(fd);
      return written / 1e6 / seconds;
    } finally {
      removeDir(dir);
    }
  });
}

/** Sequential read of `files` (a whole log) with one reused buffer, from the page cache (MB/s). */
export async function sequentialRead(
  rounds: number,
  files: string[],
  label: string,
): Promise<CaseResult> {
  const buffer = Buffer.allocUnsafe(1024 * 1024);
  return repeat(`physical: sequential read, reused 1 MiB buffer (${label})`, 'MB/s', rounds, () => {
    const start = performance.now();
    let total = 0;
    for (const file of files) {
      const fd = fs.openSync(file, 'r');
      for (let n = fs.readSync(fd, buffer); n > 0; n = fs.readSync(fd, buffer)) total += n;
      fs.closeSync(fd);
    }
    return total / 1e6 / ((performance.now() - start) / 1000);
  });
}
