import { randomBytes } from 'node:crypto';
import {
  CorruptionError,
  type Damage,
  encodeMarkFrame,
  MAX_SEQUENCE,
  SEGMENT_HEADER_SIZE,
  type SegmentHeader,
} from '@wal/codec';
import { syncDirectoryState } from './prepare-directory.js';
import { checkChain } from './segments/chain.js';
import { createSegment, removeUnfinishedSegments } from './segments/create.js';
import { brokenFilePath, copyRangeDurably, truncateDurably } from './segments/durable.js';
import { READ_CHUNK_BYTES, readFrames } from './segments/frames.js';
import { readSegmentInfo, type SegmentInfo } from './segments/info.js';
import { closeQuietly, io, readAt, writeFully } from './segments/io.js';
import { listSegmentFiles, readNames } from './segments/list.js';
import type { WalFs } from './wal-fs.js';

/** What opening cut from a torn tail: the damage, and the file that keeps the bytes. */
export interface TailCut extends Damage {
  /**
   * The `.broken` file beside the segment: its header and the cut bytes, at
   * their offsets in the segment (zeros between), readable with
   * @wal/recovery's `readSegment`.
   */
  keptIn: string;
}

/** A sealed segment: its last sequence is its seal's next sequence, minus one. */
export interface SealedSegment {
  segment: number;
  file: string;
  firstSequence: number;
  /** From its seal. */
  nextSequence: number;
  /** Its length, seal included. */
  bytes: number;
}

/** The segment appends go to. */
export interface ActiveSegment {
  segment: number;
  file: string;
  header: SegmentHeader;
  /** Open handle, read-write. */
  fd: number;
  /** Bytes of frames in the file, header included: where the next frame goes. */
  size: number;
  /** Bytes in the file: past `size`, zeros the writer preallocated. */
  capacity: number;
  /** Batch and hole records in it (a seal counts them). */
  records: number;
  /** True when its last frame is a mark: a close needs no new one. */
  marked: boolean;
}

/** A log directory made ready for appending by {@link openLog}. */
export interface OpenedLog {
  sealed: SealedSegment[];
  active: ActiveSegment;
  nextSequence: number;
  repairs: TailCut[];
}

/** Random header fields for a new segment of the log `logId`. */
export function newHeader(
  logId: string,
  segment: number,
  firstSequence: number,
  maxRecordBytes: number,
): SegmentHeader {
  return { segment, firstSequence, salt: randomBytes(4).readUInt32LE(0), maxRecordBytes, logId };
}

/**
 * Brings a log directory to a state where appending is safe, before
 * anything is acknowledged:
 * - removes unfinished segment creations (`.tmp` files);
 * - checks every segment's header and every sealed segment's seal and the
 *   chain between them with two small reads per segment, refusing any break
 *   with `WAL_CORRUPTION` naming the file;
 * - scans only the last segment, applying the tail rule of the segment
 *   layer: a torn tail is cut (its bytes kept in a `.broken` file), damage
 *   in synced data refuses;
 * - makes what it scanned durable, and the directory and its entry in the parent.
 */
export async function openLog(fs: WalFs, dir: string, maxRecordBytes: number): Promise<OpenedLog> {
  await removeUnfinishedSegments(fs, dir, await readNames(fs, dir));
  const files = await listSegmentFiles(fs, dir);
  const infos: SegmentInfo[] = [];
  for (const f of files) infos.push(await readSegmentInfo(fs, f.file, f.segment));
  const broken = checkChain(infos)[0];
  if (broken) throw corruption(dir, broken.damage);
  const repairs: TailCut[] = [];
  const sealed = infos.slice(0, -1).map(toSealed);
  const last = infos.at(-1);
  let active: ActiveSegment | undefined;
  let nextSequence = 0;
  if (last) {
    // The last segment is scanned under the tail rule even when sealed: a
    // rotation may have written its seal and crashed before syncing it.
    const fd = await io('open segment', last.file, () => fs.open(last.file, 'r+'));
    try {
      const scanned = await scanLast(fs, dir, fd, last, repairs);
      nextSequence = scanned.nextSequence;
      if (scanned.sealed) {
        // The rotation ended before the next segment existed: make it.
        await closeQuietly(fs, fd);
        sealed.push(toSealed(last));
      } else {
        const header = last.header as SegmentHeader;
        active = { segment: last.segment, file: last.file, header, fd, ...scanned.state };
      }
    } catch (error) {
      await closeQuietly(fs, fd);
      throw error;
    }
  }
  if (!active) {
    const logId = last?.header?.logId ?? randomBytes(8).toString('hex');
    const header = newHeader(logId, last ? last.segment + 1 : 0, nextSequence, maxRecordBytes);
    const { fd, file } = await createSegment(fs, dir, header);
    active = {
      segment: header.segment,
      file,
      header,
      fd,
      size: SEGMENT_HEADER_SIZE,
      capacity: SEGMENT_HEADER_SIZE,
      records: 0,
      marked: false,
    };
  }
  try {
    await syncDirectoryState(fs, dir);
  } catch (error) {
    await closeQuietly(fs, active.fd);
    throw error;
  }
  return { sealed, active, nextSequence, repairs };
}

function toSealed(info: SegmentInfo): SealedSegment {
  const header = info.header as SegmentHeader;
  const nextSequence = info.seal?.nextSequence ?? MAX_SEQUENCE;
  return {
    segment: info.segment,
    file: info.file,
    firstSequence: header.firstSequence,
    nextSequence,
    bytes: info.size,
  };
}

async function scanLast(
  fs: WalFs,
  dir: string,
  fd: number,
  info: SegmentInfo,
  repairs: TailCut[],
): Promise<{
  nextSequence: number;
  sealed: boolean;
  state: Pick<ActiveSegment, 'size' | 'capacity' | 'records' | 'marked'>;
}> {
  let cut = false;
  let records = 0;
  let marked = false;
  let synced = SEGMENT_HEADER_SIZE;
  let lastOffset = SEGMENT_HEADER_SIZE;
  for await (const event of readFrames(fs, info, { last: true })) {
    if (event.kind === 'frames') {
      for (const { record, offset } of event.frames) {
        if (record.type === 'batch' || record.type === 'hole') records++;
        marked = record.type === 'mark';
        synced = record.synced;
        lastOffset = offset;
      }
    } else if (event.kind === 'damage') {
      if (!event.torn) throw corruption(dir, event.damage);
      // What stays before the cut needs the same rewrite as an uncut tail:
      // the cut's own fdatasync does not write pages a failed sync left clean.
      await makeDurable(fs, fd, info.file, synced, event.damage.offset);
      const keptIn = await cutTail(fs, fd, event.damage, info.size);
      repairs.push({ ...event.damage, keptIn });
      cut = true;
    } else {
      if (!cut) await makeDurable(fs, fd, info.file, synced, event.dataEnd);
      let size = event.dataEnd;
      let capacity = cut ? size : event.size;
      // Open made records past the last `synced` durable, and the writer
      // counts them so; only a frame after them tells the next open that rot
      // there is not a torn write. A seal vouches for what is before it, and
      // a mark whose `synced` is its own offset (a clean close) holds nothing.
      const vouched = event.sealed || (marked && synced === lastOffset) || size === synced;
      if (!vouched) {
        const header = info.header as SegmentHeader;
        const mark = encodeMarkFrame({ salt: header.salt, synced: size }, event.nextSequence);
        await writeFully(fs, fd, mark, size, info.file);
        await io('fdatasync', info.file, () => fs.fdatasync(fd));
        size += mark.length;
        capacity = Math.max(capacity, size);
        marked = true;
      }
      const state = { size, capacity, records, marked };
      return { nextSequence: event.nextSequence, sealed: event.sealed, state };
    }
  }
  throw new Error('unreachable: readFrames ends with an end event');
}

// What was read may be in the page cache only: a writer killed in 'none'
// mode, or one whose fdatasync failed, which may have marked pages clean
// without writing them (fsyncgate). Past the last frame's `synced`, nothing
// is known to be durable, so those bytes are written again before the
// fdatasync: a rewritten page is dirty, and the sync writes it. (Bytes that
// are on disk already are rewritten with what is on disk: no crash during
// the rewrite can change them.)
async function makeDurable(
  fs: WalFs,
  fd: number,
  file: string,
  synced: number,
  size: number,
): Promise<void> {
  for (let p = synced; p < size; p += READ_CHUNK_BYTES) {
    const bytes = await readAt(fs, fd, p, Math.min(READ_CHUNK_BYTES, size - p), file);
    await writeFully(fs, fd, bytes, p, file);
  }
  await io('fdatasync', file, () => fs.fdatasync(fd));
}

// Keep the bytes first, durably; only then cut. The copy holds the header
// and the cut bytes at their own offsets (the gap between reads as zeros),
// so it is readable on its own. A crash in between leaves the damage in
// place for the next open to cut again (into a new .broken).
async function cutTail(fs: WalFs, fd: number, damage: Damage, size: number): Promise<string> {
  const keptIn = await brokenFilePath(fs, damage.file);
  await copyRangeDurably(
    fs,
    fd,
    damage.file,
    [
      [0, SEGMENT_HEADER_SIZE],
      [damage.offset, size],
    ],
    keptIn,
  );
  await truncateDurably(fs, fd, damage.file, damage.offset);
  return keptIn;
}

function corruption(dir: string, damage: Damage): CorruptionError {
  return new CorruptionError(
    `${damage.file} at offset ${damage.offset}: ${damage.detail} (${damage.reason}); it is not a torn tail, so the log was not opened. Inspect it with \`wal verify ${dir}\`; \`wal repair ${dir}\` sets the damage aside and keeps every intact record`,
    damage,
  );
}
