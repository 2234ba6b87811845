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

/** Sequential read of a large file with one reused buffer (MB/s). */
export async function sequentialRead(rounds: number, file: string): Promise<CaseResult> {
  const buffer = Buffer.allocUnsafe(1024 * 1024);
  return repeat('physical: sequential read, reused 1 MiB buffer', 'MB/s', rounds, () => {
    const fd = fs.openSync(file, 'r');
    const start = performance.now();
    let total = 0;
    for (let n = fs.readSync(fd, buffer); n > 0; n = fs.readSync(fd, buffer)) total += n;
    const seconds = (performance.now() - start) / 1000;
    fs.closeSync(fd);
    return total / 1e6 / seconds;
  });
}
