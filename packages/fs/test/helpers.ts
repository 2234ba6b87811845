// Shared fixtures for the @wal/fs tests: temporary directories, a Wal that is
// closed when the test ends, and a reader that decodes segment files with the
// codec alone (not @wal/recovery), so the tests check what is on disk.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  type DecodeResult,
  decodeSegmentHeader,
  FrameDecoder,
  SEGMENT_HEADER_SIZE,
  type SegmentHeader,
} from '@wal/codec';
import { listSegments, nodeFs, Wal, type WalOptions } from '@wal/fs';
import { expect, onTestFinished } from 'vitest';

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
export const text = (b: Uint8Array): string => new TextDecoder().decode(b);

/** A fresh directory, removed when the test ends. */
export function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-fs-test-'));
  onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Opens a Wal and closes it when the test ends (closing twice is a no-op). */
export async function openWal(options: string | WalOptions): Promise<Wal> {
  const wal = await Wal.open(options);
  onTestFinished(() => wal.close().catch(() => undefined));
  return wal;
}

/** An entry as read back from disk, with key and value as strings. */
export interface Entry {
  sequence: number;
  type: 'put' | 'delete';
  key: string;
  value?: string;
}

/** One segment file decoded: its header and every frame or damage in it. */
export interface DecodedSegment {
  name: string;
  size: number;
  header: SegmentHeader;
  results: DecodeResult[];
}

/** Decodes every segment file in `dir` with the codec's FrameDecoder. */
export function readSegments(dir: string): DecodedSegment[] {
  return listSegments(nodeFs, dir).map((file) => {
    const bytes = new Uint8Array(fs.readFileSync(file.path));
    const header = decodeSegmentHeader(bytes);
    if ('reason' in header) throw new Error(`${file.name}: ${header.detail}`);
    const decoder = new FrameDecoder({ offset: SEGMENT_HEADER_SIZE });
    decoder.push(bytes.subarray(SEGMENT_HEADER_SIZE));
    decoder.end();
    return { name: file.name, size: bytes.length, header, results: [...decoder] };
  });
}

/** Every entry of every segment, in file order. Fails the test on any damage. */
export function readEntries(dir: string): Entry[] {
  const entries: Entry[] = [];
  for (const segment of readSegments(dir)) {
    for (const result of segment.results) {
      if (result.kind === 'damage') {
        throw new Error(`${segment.name} at ${result.offset}: ${result.reason} ${result.detail}`);
      }
      for (const e of result.record.entries) {
        entries.push(
          e.type === 'put'
            ? { sequence: e.sequence, type: 'put', key: text(e.key), value: text(e.value) }
            : { sequence: e.sequence, type: 'delete', key: text(e.key) },
        );
      }
    }
  }
  return entries;
}

/** The records (frames) of every segment: first sequence and op count. */
export function readRecords(dir: string): { segment: string; first: number; count: number }[] {
  return readSegments(dir).flatMap((s) =>
    s.results.map((r) => {
      if (r.kind === 'damage') throw new Error(`${s.name} at ${r.offset}: ${r.reason}`);
      return { segment: s.name, first: r.record.firstSequence, count: r.record.entries.length };
    }),
  );
}

/** Name -> SHA-256 of every file in `dir` (recursively), to prove nothing changed. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of fs.readdirSync(dir, { recursive: true }) as string[]) {
    const file = path.join(dir, name);
    if (fs.statSync(file).isFile()) {
      out[name] = createHash('sha256').update(fs.readFileSync(file)).digest('hex');
    }
  }
  return out;
}

/** Names of the segment files in `dir`. */
export function segmentNames(dir: string): string[] {
  return listSegments(nodeFs, dir).map((s) => s.name);
}

/** `count` puts `k<i>` = `v<i>` starting at index `from`, as entries. */
export function puts(count: number, from = 0): Entry[] {
  return Array.from({ length: count }, (_, i) => ({
    sequence: from + i,
    type: 'put' as const,
    key: `k${from + i}`,
    value: `v${from + i}`,
  }));
}

/** Appends `entries` one put at a time (concurrently) and checks their sequences. */
export async function append(wal: Wal, entries: readonly Entry[]): Promise<void> {
  const sequences = await Promise.all(
    entries.map((e) => (e.type === 'put' ? wal.put(e.key, e.value ?? '') : wal.delete(e.key))),
  );
  expect(sequences).toEqual(entries.map((e) => e.sequence));
}

/** Asserts `promise` rejects with a WalError of `code`, and returns the error. */
export async function rejectsWith(
  promise: Promise<unknown>,
  code: string,
): Promise<Error & { code: string; cause?: unknown }> {
  const error = await promise.then(
    () => {
      throw new Error(`expected a rejection with ${code}, found a resolution`);
    },
    (e: unknown) => e,
  );
  expect(error).toMatchObject({ code });
  return error as Error & { code: string; cause?: unknown };
}
