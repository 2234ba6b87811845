import path from 'node:path';
import {
  decodeFrameAt,
  decodeSegmentHeader,
  ErrorCode,
  isBadSegmentHeader,
  SEAL_FRAME_SIZE,
  SEGMENT_HEADER_SIZE,
  type Seal,
  type SegmentHeader,
  saltSeed,
  WalError,
} from '@wal/codec';
import type { WalFs } from '../wal-fs.js';
import { closeQuietly, errnoOf, io, readAt } from './io.js';
import { listSegmentFiles, readNames, type SegmentFile } from './list.js';

/** A segment file, its header and its seal: what two small reads tell, before any frame. */
export interface SegmentInfo {
  /** From the file name (from the header for a lone file whose name has none). */
  segment: number;
  /** Path of the file. */
  file: string;
  /** Bytes in the file when it was looked at. */
  size: number;
  /** Null when the file is too short for a header or the header is invalid. */
  header: SegmentHeader | null;
  /** Why `header` is null; empty otherwise. */
  headerDetail: string;
  /**
   * The seal its last bytes hold (with the seal's `synced` watermark), or
   * null: the segment was not sealed, or the seal is damaged.
   */
  seal: (Seal & { synced: number }) | null;
}

/** Reads a segment file's header and, when it has one, the seal at its end. */
export async function readSegmentInfo(
  fs: WalFs,
  file: string,
  segment: number | null,
): Promise<SegmentInfo> {
  const fd = await io('open segment', file, () => fs.open(file, 'r'));
  try {
    const size = await io('stat segment', file, () => fs.fsize(fd));
    const decoded = decodeSegmentHeader(await readAt(fs, fd, 0, SEGMENT_HEADER_SIZE, file));
    const header = isBadSegmentHeader(decoded) ? null : decoded;
    let seal: SegmentInfo['seal'] = null;
    if (header && size >= SEGMENT_HEADER_SIZE + SEAL_FRAME_SIZE) {
      const frameOffset = size - SEAL_FRAME_SIZE;
      const bytes = await readAt(fs, fd, frameOffset, SEAL_FRAME_SIZE, file);
      const context = {
        maxRecordBytes: header.maxRecordBytes,
        seed: saltSeed(header.salt),
        frameOffset,
      };
      const r = decodeFrameAt(bytes, 0, bytes.length, context);
      if (r.kind === 'frame' && r.record.type === 'seal') {
        const { nextSequence, records, bytes: length, synced } = r.record;
        seal = { nextSequence, records, bytes: length, synced };
      }
    }
    return {
      segment: segment ?? header?.segment ?? 0,
      file,
      size,
      header,
      headerDetail: isBadSegmentHeader(decoded) ? decoded.detail : '',
      seal,
    };
  } finally {
    await closeQuietly(fs, fd);
  }
}

/**
 * Reads the info of a segment listed in `dir`, or null when it was deleted
 * since it was listed: a live writer's retention may delete segments while
 * a reader looks. Only a segment whose name is gone from a fresh listing
 * counts as deleted. One still listed that cannot be opened (a dangling
 * link) is `WAL_IO_ERROR`, as `Wal.open` would find it, not a shorter log.
 */
export async function readListedInfo(
  fs: WalFs,
  dir: string,
  listed: SegmentFile,
): Promise<SegmentInfo | null> {
  try {
    return await readSegmentInfo(fs, listed.file, listed.segment);
  } catch (error) {
    if (errnoOf(error) !== 'ENOENT') throw error;
    // Listed again for each one: retention may be deleting the next meanwhile.
    if (!(await readNames(fs, dir)).includes(path.basename(listed.file))) return null;
    throw new WalError(
      ErrorCode.IO_ERROR,
      `expected to open segment ${listed.file}, found ENOENT although the directory still lists it (a dangling link?)`,
      { cause: error },
    );
  }
}

/**
 * The infos of the segments in `dir`, in order, each read by
 * {@link readListedInfo}: one a live writer's retention deleted since the
 * listing is left out, and so are those read before it that are gone by
 * then (retention deletes oldest first, so it may have taken several).
 */
export async function readListedInfos(fs: WalFs, dir: string): Promise<SegmentInfo[]> {
  let infos: SegmentInfo[] = [];
  for (const listed of await listSegmentFiles(fs, dir)) {
    const info = await readListedInfo(fs, dir, listed);
    if (info) {
      infos.push(info);
    } else if (infos.length > 0) {
      const names = new Set(await readNames(fs, dir));
      infos = infos.filter((i) => names.has(path.basename(i.file)));
    }
  }
  return infos;
}
