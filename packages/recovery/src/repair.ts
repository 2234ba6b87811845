import { randomBytes } from 'node:crypto';
import path from 'node:path';
import {
  CorruptionError,
  type Damage,
  DEFAULT_MAX_RECORD_BYTES,
  ErrorCode,
  encodeBatchFrame,
  encodeHoleFrame,
  encodeSealFrame,
  encodeSegmentHeader,
  SEAL_FRAME_SIZE,
  type SegmentHeader,
  WalError,
  type WalOp,
} from '@wal/codec';
import { checkPath } from '@wal/codec/internal';
import type { WalFs } from '@wal/fs';
import {
  closeQuietly,
  errnoOf,
  io,
  ioError,
  readNames,
  removeUnfinishedSegments,
  writeFully,
} from '@wal/fs/internal';
import {
  copyRangeDurably,
  fsyncDirOf,
  listSegmentFiles,
  readFrames,
  writeFileDurably,
} from '@wal/fs/segments';
import { parseRepairOptions } from './options.js';
import {
  type PlannedSegment,
  planRepair,
  type RepairAction,
  type SequenceRange,
} from './repair-plan.js';
import type { CommonOptions } from './types.js';

/** Folder beside the segments where repair keeps what it takes out of the log, one incident per folder. */
export const QUARANTINE_DIR = 'quarantine';

/** Name of the file in an incident folder that says what the repair did. */
export const MANIFEST_FILE = 'manifest.json';

/** Options of {@link repair}. */
export interface RepairOptions extends CommonOptions {
  /** Work out and return the plan, changing nothing (no lock is taken either). */
  dryRun?: boolean | undefined;
  /**
   * The sequence the repaired log continues from at least: above every
   * sequence the log ever issued, e.g. from a checkpoint or a replica. It
   * only ever raises `nextSequence`; the sequences from where the log ends
   * up to it are recorded as lost (a hole). Needed when nothing reads in
   * the last segment (see {@link repair}). A non-negative safe integer.
   *
   * Take it from the highest checkpoint or replica: `lastSequence + 1`.
   * Repair cannot tell a floor too low (the writer then issues again
   * sequences the lost segment held); its manifest records `fromFloor`, so
   * that a checkpoint's replay refuses it (see `listIncidents`).
   */
  floor?: number | undefined;
}

/** What {@link repair} did (or, with `dryRun`, would do). */
export interface RepairResult {
  dir: string;
  dryRun: boolean;
  /** The incident number (`quarantine/<incident>/`), or null when there was nothing to do. */
  incident: number | null;
  /** The incident folder, holding a copy of every file changed or removed and `manifest.json`. */
  incidentDir: string | null;
  /** In order. Empty when the log was already clean. */
  actions: RepairAction[];
  /** Every run of sequences recorded as lost (as hole records in the log). */
  lost: SequenceRange[];
  /**
   * The sequence the writer continues from: above every sequence the log
   * ever held, or with `fromFloor` at least `floor`.
   */
  nextSequence: number;
  /** The last entry's sequence left in the log, or null. */
  lastSequence: number | null;
  /**
   * True when the repair needed `floor`: nothing read in the last segment,
   * so `nextSequence` (the floor, or where the readable segments end if
   * higher) may be below sequences that segment held. The manifest
   * records it, and a checkpoint's replay refuses a repair from a floor at
   * or below its `lastSequence` (see `listIncidents`).
   */
  fromFloor: boolean;
}

/**
 * Mends a damaged log without discarding anything intact and without ever
 * rewinding a sequence:
 * - each damaged segment is rebuilt from its intact records (a damaged
 *   header from its salt and first record), with a hole record naming every
 *   run of sequences the damage took, and sealed unless it is the last;
 * - intact segments are left as they are, also after damage;
 * - a file that is not part of the log (another log's, or misnamed) is set
 *   aside, and missing segment numbers are filled with hole segments;
 * - the next sequence is above every sequence the log ever held, so that no
 *   sequence is issued twice.
 *
 * Every repair is one incident: the folder `quarantine/<n>/` gets a durable
 * copy of every file it changes or removes and a `manifest.json`, before
 * anything in the log changes. An incident can be read alone
 * (`scanLog(incidentDir, { mode: 'skip-corrupted' })`) and two incidents
 * never mix. Afterwards {@link verify} is clean and `Wal.open` continues
 * from `nextSequence`.
 *
 * When no salt reads a single frame in the log's last segment (its header
 * and first frame rotted; also the whole header, segment number and log id
 * with it, unless its intact magic names another log's id), nothing tells
 * how far its sequences went: repair then refuses with `WAL_CORRUPTION` (a
 * {@link CorruptionError} naming the damage), changing nothing on disk (also
 * with `dryRun`), unless `floor` says where the log continues. With `floor`, `nextSequence` is at least
 * `floor` and the sequences up to it are recorded as lost.
 *
 * Takes the writer lock (`WAL_LOCKED` if a writer holds it). Rejects with
 * `WAL_NOT_FOUND` when `dir` does not exist. Never repairs on an I/O error:
 * `WAL_IO_ERROR` is thrown instead.
 */
export async function repair(dir: string, options?: RepairOptions): Promise<RepairResult> {
  const resolvedDir = path.resolve(checkPath(dir, 'dir'));
  const { fs, dryRun, floor } = parseRepairOptions(options);
  // WAL_NOT_FOUND or WAL_INVALID_ARGUMENT for what is not a log directory, before the lock.
  await listSegmentFiles(fs, resolvedDir);
  const release = dryRun ? async () => {} : await lock(fs, resolvedDir);
  try {
    // The plan first (unfinished rebuilds are not segments: they do not
    // change it), so that a refusal leaves everything as it was.
    const plan = await planRepair(fs, resolvedDir, floor);
    if (plan?.unreadable && floor === undefined) throw unreadableLast(plan.unreadable);
    // A repair that died left its unfinished rebuilds: they never replaced anything.
    if (!dryRun) await removeUnfinishedSegments(fs, resolvedDir, await readNames(fs, resolvedDir));
    const actions = plan?.actions ?? [];
    const result: RepairResult = {
      dir: resolvedDir,
      dryRun,
      incident: null,
      incidentDir: null,
      actions,
      lost: actions.flatMap((a) => a.lost),
      nextSequence: plan?.nextSequence ?? 0,
      lastSequence: plan?.lastSequence ?? null,
      fromFloor: plan !== null && plan.unreadable !== null,
    };
    if (!plan || actions.length === 0) return result;
    const incident = await nextIncident(fs, resolvedDir, plan.incident);
    const incidentDir = path.join(resolvedDir, QUARANTINE_DIR, String(incident));
    for (const a of actions)
      if (a.action !== 'create') a.keptIn = path.join(incidentDir, path.basename(a.file));
    Object.assign(result, { incident, incidentDir });
    if (!dryRun) await execute(fs, incidentDir, incident, plan.logId, plan.writes, result);
    return result;
  } finally {
    await release();
  }
}

function unreadableLast(damage: Damage): CorruptionError {
  const name = path.basename(damage.file);
  return new CorruptionError(
    `expected to find where the log ended in segment ${damage.segment} (${name}), found no readable frame under any salt: ${damage.reason} at offset ${damage.offset}; how many sequences it issued is unknown, so repair cannot pick a next sequence that is never issued twice; pass \`floor\` (above every sequence the log ever issued, e.g. from a checkpoint or a replica) to repair it`,
    damage,
    { cause: damage },
  );
}

async function lock(fs: WalFs, dir: string): Promise<() => Promise<void>> {
  try {
    return await fs.lock(dir);
  } catch (error) {
    const code = errnoOf(error);
    if (code === 'ELOCKED') {
      throw new WalError(
        ErrorCode.LOCKED,
        `expected no writer on ${dir} during repair, found ${(error as Error).message}`,
        { cause: error },
      );
    }
    if (code === 'ENOENT') {
      throw new WalError(
        ErrorCode.NOT_FOUND,
        `expected a log directory at ${dir}, found nothing there`,
        {
          cause: error,
        },
      );
    }
    throw ioError('lock', dir, error);
  }
}

// Above every folder and every incident a hole in the log names, so that a
// number is never reused, also after the quarantine was cleaned: a hole
// names its folder, and a checkpoint's replay counts incidents it has seen.
async function nextIncident(fs: WalFs, dir: string, inLog: number): Promise<number> {
  const numbers = await incidentNumbers(fs, path.join(dir, QUARANTINE_DIR));
  return Math.max(inLog, numbers.at(-1) ?? 0) + 1;
}

/** The incident folders' numbers in `quarantine`, ascending; none when it is missing. */
export async function incidentNumbers(fs: WalFs, quarantine: string): Promise<number[]> {
  let names: string[];
  try {
    names = await fs.readdir(quarantine);
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return [];
    throw ioError('read directory', quarantine, error);
  }
  return names
    .filter((name) => /^[1-9]\d*$/.test(name))
    .map(Number)
    .sort((a, b) => a - b);
}

// Order: the incident folder and every copy, durably; the manifest; then
// the log's files, each written or replaced atomically; then the removals.
// A crash at any point leaves each file old or new, whole, every original
// in the incident, and every record in the log under some segment name.
async function execute(
  fs: WalFs,
  incidentDir: string,
  incident: number,
  logId: string,
  writes: PlannedSegment[],
  result: RepairResult,
): Promise<void> {
  const quarantine = path.dirname(incidentDir);
  await io('create directory', incidentDir, () => fs.mkdirp(incidentDir));
  await fsyncDirOf(fs, incidentDir);
  await fsyncDirOf(fs, quarantine);
  for (const a of result.actions) {
    if (!a.keptIn) continue;
    const fd = await io('open', a.file, () => fs.open(a.file, 'r'));
    try {
      const size = await io('stat', a.file, () => fs.fsize(fd));
      await copyRangeDurably(fs, fd, a.file, [[0, size]], a.keptIn);
    } finally {
      await closeQuietly(fs, fd);
    }
  }
  const { dryRun: _, ...done } = result;
  // listIncidents reads back logId, fromFloor and nextSequence.
  const manifest = { createdAt: new Date().toISOString(), logId, ...done };
  await writeFileDurably(
    fs,
    path.join(incidentDir, MANIFEST_FILE),
    Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`),
  );
  // The writes come before the removals: a misnamed segment put back under
  // its own number is written (from its copy) before its old file goes, so
  // at every instant its records are in the log under one name or the
  // other, and a repair run after a crash finds them. A removed file that a
  // write replaces goes with that write's rename.
  const removed = result.actions.filter((a) => a.action === 'remove');
  const copies = new Map(removed.map((a) => [a.file, a.keptIn]));
  for (const write of writes) {
    const source = write.source;
    const copy = source && copies.get(source.info.file);
    const from =
      copy && source
        ? { ...write, source: { ...source, info: { ...source.info, file: copy } } }
        : write;
    await writeSegment(fs, from, logId, incident);
  }
  const replaced = new Set(writes.map((w) => w.file));
  for (const a of removed) {
    if (replaced.has(a.file)) continue;
    await io('remove', a.file, () => fs.unlink(a.file));
    await fsyncDirOf(fs, a.file);
  }
}

const FLUSH_BYTES = 1024 * 1024;

// Writes a planned segment under a temporary name, syncs it and renames it
// into place. Every frame's synced watermark is its own offset: the file is
// only ever seen whole and durable.
async function writeSegment(
  fs: WalFs,
  write: PlannedSegment,
  logId: string,
  incident: number,
): Promise<void> {
  const source = write.source;
  const header: SegmentHeader = {
    segment: write.segment,
    firstSequence: write.firstSequence,
    salt: randomBytes(4).readUInt32LE(0),
    maxRecordBytes: source?.header.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES,
    logId,
  };
  const temp = `${write.file}.tmp`;
  const fd = await io('create', temp, () => fs.open(temp, 'wx+'));
  try {
    let size = 0;
    let chunks: Uint8Array[] = [];
    let chunked = 0;
    let records = 0;
    let cursor = write.firstSequence;
    const put = async (bytes: Uint8Array) => {
      chunks.push(bytes);
      chunked += bytes.length;
      if (chunked >= FLUSH_BYTES) await flush();
    };
    const flush = async () => {
      const joined = Buffer.concat(chunks);
      await writeFully(fs, fd, joined, size - chunked, temp);
      chunks = [];
      chunked = 0;
    };
    const context = () => ({ salt: header.salt, synced: size });
    const add = async (bytes: Uint8Array) => {
      size += bytes.length;
      await put(bytes);
    };
    const holeTo = async (next: number) => {
      if (next <= cursor) return;
      await add(
        encodeHoleFrame(context(), { firstSequence: cursor, nextSequence: next, incident }),
      );
      records++;
      cursor = next;
    };
    await add(encodeSegmentHeader(header));
    if (source) {
      const info = { ...source.info, header: source.header };
      for await (const event of readFrames(fs, info, { last: source.last, loose: source.loose })) {
        if (event.kind !== 'frames') continue;
        for (const { record } of event.frames) {
          if (record.type === 'batch') {
            if (
              record.firstSequence < cursor ||
              record.firstSequence + record.entries.length > write.nextSequence
            )
              continue;
            await holeTo(record.firstSequence);
            const ops = record.entries.map(
              (e): WalOp =>
                e.type === 'put'
                  ? { type: 'put', key: e.key, value: e.value }
                  : { type: 'delete', key: e.key },
            );
            await add(
              encodeBatchFrame(context(), record.firstSequence, ops, header.maxRecordBytes),
            );
            cursor = record.firstSequence + ops.length;
            records++;
          } else if (record.type === 'hole') {
            if (record.firstSequence < cursor || record.nextSequence > write.nextSequence) continue;
            await holeTo(record.firstSequence);
            await add(encodeHoleFrame(context(), record));
            cursor = record.nextSequence;
            records++;
          }
        }
      }
    }
    await holeTo(write.nextSequence);
    if (write.sealed) {
      const seal = { nextSequence: cursor, records, bytes: size + SEAL_FRAME_SIZE };
      await add(encodeSealFrame(context(), seal));
    }
    await flush();
    await io('fdatasync', temp, () => fs.fdatasync(fd));
  } catch (error) {
    await closeQuietly(fs, fd);
    await fs.unlink(temp).catch(() => undefined);
    throw error;
  }
  await closeQuietly(fs, fd);
  await io('rename', temp, () => fs.rename(temp, write.file));
  await fsyncDirOf(fs, write.file);
}
