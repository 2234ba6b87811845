import path from 'node:path';
import { describeValue, ErrorCode, WalError } from '@wal/codec';
import { checkPath } from '@wal/codec/internal';
import { isWalFs, nodeFs, type WalFs } from '@wal/fs';
import { errnoOf, io, syncDirectoryState } from '@wal/fs/internal';
import { parseSegmentFileName, segmentFileName, writeFileDurably } from '@wal/fs/segments';
import { archivedSegment, readWhole, sha256 } from './archive-check.js';
import type { ArchivedSegment, ArchiveTarget } from './archive-target.js';

const META_SUFFIX = '.json';

/**
 * An {@link ArchiveTarget} in a local directory (another disk, a mounted
 * volume). Each segment is two files: its bytes under the segment's own
 * name (`wal_N.log`, so a contiguous archive directory is itself a log
 * `scanLog` reads) and `wal_N.log.json`, the {@link ArchivedSegment}. Both
 * are written durably (a temporary file, fdatasync, rename, directory
 * fsync), the bytes first: the `.json` file is the acknowledgement, and
 * bytes without one are an unfinished put that the next put replaces.
 *
 * One archiver per directory: two at once may race on the same segment.
 */
export function directoryTarget(dir: string, options: { fs?: WalFs } = {}): ArchiveTarget {
  const root = path.resolve(checkPath(dir, 'dir'));
  const { fs = nodeFs, ...rest } = options ?? {};
  if (!isWalFs(fs) || Object.keys(rest).length > 0) {
    throw new WalError(
      ErrorCode.INVALID_OPTIONS,
      `expected valid directory target options ({ fs }), found ${Object.keys(rest).length > 0 ? `unknown keys ${Object.keys(rest).join(', ')}` : `fs: ${describeValue(fs)}`}`,
    );
  }
  const dataFile = (segment: number) => path.join(root, segmentFileName(segment));
  const metaFile = (segment: number) => dataFile(segment) + META_SUFFIX;
  let ready: Promise<void> | undefined;

  const readMeta = async (segment: number): Promise<ArchivedSegment | undefined> => {
    let bytes: Uint8Array;
    try {
      bytes = await readWhole(fs, metaFile(segment));
    } catch (error) {
      if (errnoOf(error) === 'ENOENT') return undefined;
      throw error;
    }
    return parseMeta(metaFile(segment), bytes, segment);
  };

  return {
    async put(info, data, signal) {
      signal?.throwIfAborted();
      if (!archivedSegment.test(info) || !(data instanceof Uint8Array)) {
        throw new WalError(
          ErrorCode.INVALID_ARGUMENT,
          `expected an archived segment and its bytes, found ${describeValue(info)} and ${describeValue(data)}`,
        );
      }
      if (data.length !== info.bytes || sha256(data) !== info.checksum) {
        throw new WalError(
          ErrorCode.INVALID_ARGUMENT,
          `expected the ${info.bytes} bytes of checksum ${info.checksum} for segment ${info.segment}, found ${data.length} bytes of checksum ${sha256(data)}`,
        );
      }
      // A failed preparation is tried again by the next put, not kept.
      ready ??= prepare(fs, root).catch((error: unknown) => {
        ready = undefined;
        throw error;
      });
      await ready;
      const existing = await readMeta(info.segment);
      if (existing) {
        if (existing.checksum === info.checksum) return;
        throw new WalError(
          ErrorCode.ARCHIVE_CONFLICT,
          `expected segment ${info.segment} in ${root} to be absent or to have checksum ${info.checksum}, found it archived with checksum ${existing.checksum} (another log, or a log that was rewritten)`,
        );
      }
      signal?.throwIfAborted();
      await writeDurably(fs, dataFile(info.segment), data);
      const meta = { ...info };
      await writeDurably(
        fs,
        metaFile(info.segment),
        new TextEncoder().encode(JSON.stringify(meta)),
      );
    },

    async get(segment, signal) {
      signal?.throwIfAborted();
      const meta = await readMeta(segment);
      if (!meta) return undefined;
      try {
        return await readWhole(fs, dataFile(segment));
      } catch (error) {
        if (errnoOf(error) !== 'ENOENT') throw error;
        throw new WalError(
          ErrorCode.ARCHIVE_CORRUPT,
          `expected ${dataFile(segment)} beside its ${META_SUFFIX} file, found nothing`,
          { cause: error },
        );
      }
    },

    async list(signal) {
      signal?.throwIfAborted();
      let names: string[];
      try {
        names = await io('read directory', root, () => fs.readdir(root));
      } catch (error) {
        if (errnoOf(error) === 'ENOENT') return [];
        throw error;
      }
      const segments = names
        .filter((n) => n.endsWith(META_SUFFIX))
        .map((n) => parseSegmentFileName(n.slice(0, -META_SUFFIX.length)))
        .filter((n): n is number => n !== undefined)
        .sort((a, b) => a - b);
      const out: ArchivedSegment[] = [];
      for (const segment of segments) {
        const meta = await readMeta(segment);
        if (meta) out.push(meta);
      }
      return out;
    },
  };
}

function parseMeta(file: string, bytes: Uint8Array, segment: number): ArchivedSegment {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new WalError(
      ErrorCode.ARCHIVE_CORRUPT,
      `expected JSON in ${file}, found ${bytes.length} bytes that are not`,
      {
        cause: error,
      },
    );
  }
  if (!archivedSegment.test(value) || value.segment !== segment) {
    throw new WalError(
      ErrorCode.ARCHIVE_CORRUPT,
      `expected ${file} to describe archived segment ${segment}, found ${JSON.stringify(value)}`,
    );
  }
  return value;
}

// The directory, durable in its parent, and that parent in its own, up to
// the root, before the first file in it: mkdirp may have made the parents
// too, here or in an earlier process that did not get to fsync them.
async function prepare(fs: WalFs, root: string): Promise<void> {
  await io('create directory', root, () => fs.mkdirp(root));
  await syncDirectoryState(fs, root);
}

// writeFileDurably refuses a leftover temporary file: one is from a put that crashed.
async function writeDurably(fs: WalFs, file: string, bytes: Uint8Array): Promise<void> {
  const temp = `${file}.tmp`;
  try {
    await io('remove unfinished', temp, () => fs.unlink(temp));
  } catch (error) {
    if (errnoOf(error) !== 'ENOENT') throw error;
  }
  await writeFileDurably(fs, file, bytes);
}
