import path from 'node:path';
import {
  type Damage,
  FRAME_HEADER_SIZE,
  HEADER_FIRST_SEQUENCE_OFFSET,
  HEADER_LOG_ID_OFFSET,
  HEADER_MAGIC_OFFSET,
  HEADER_MAX_RECORD_BYTES_OFFSET,
  HEADER_SALT_OFFSET,
  HEADER_SEGMENT_OFFSET,
  isMaxRecordBytes,
  LOG_ID_SIZE,
  MAX_RECORD_BYTES_LIMIT,
  MIN_RECORD_BYTES,
  readU32,
  readU64,
  SEGMENT_HEADER_SIZE,
  SEGMENT_MAGIC,
  type Seal,
  type SegmentHeader,
  sequencesOf,
} from '@wal/codec';
import { solveFrameSalt, solveHeaderSalt } from '@wal/codec/internal';
import type { WalFs } from '@wal/fs';
import { closeQuietly, io, readAt } from '@wal/fs/internal';
import { readFrames, type SegmentInfo, segmentFileName } from '@wal/fs/segments';
import { LogWalker } from './walker.js';

/** Sequences from `firstSequence` up to (not including) `nextSequence`. */
export interface SequenceRange {
  firstSequence: number;
  nextSequence: number;
}

/** One step of a repair. Every byte it takes out of the log is kept in the incident folder. */
export interface RepairAction {
  /**
   * `rebuild`: the segment is rewritten from its intact records, with a hole
   * record where sequences were lost, and sealed unless it is the last.
   * `remove`: the file is not part of the log (another log's, or misnamed).
   * `create`: a segment made to fill a missing number or to carry the
   * sequence floor, holding only a hole.
   */
  action: 'rebuild' | 'remove' | 'create';
  /** The segment file acted on. */
  file: string;
  segment: number;
  /** The copy of the file as it was, in the incident folder; null for `create`. */
  keptIn: string | null;
  /** The damage that called for it (empty for a floor or gap segment). */
  damage: Damage[];
  /** Sequences recorded as lost by this step's hole records. */
  lost: SequenceRange[];
}

/** A segment as the planned log will hold it. */
export interface PlannedSegment {
  segment: number;
  file: string;
  /**
   * Where to read its records: the original file, the header to read it by,
   * whether to read it under the tail rule, and whether that header's first
   * sequence is a floor only (a salvaged header), all as it was surveyed;
   * null for `create`.
   */
  source: { info: SegmentInfo; header: SegmentHeader; last: boolean; loose: boolean } | null;
  firstSequence: number;
  /** Its next sequence once rebuilt (a hole fills up to it). */
  nextSequence: number;
  sealed: boolean;
}

/** What repair will do, worked out without changing anything. */
export interface RepairPlan {
  logId: string;
  actions: RepairAction[];
  /** The segments to write, in order (the `rebuild` and `create` actions). */
  writes: PlannedSegment[];
  nextSequence: number;
  lastSequence: number | null;
  /**
   * The header damage of the log's last segment when no salt reads a frame
   * in it (its header and first frame rotted): nothing tells where the log
   * ended, so repair needs a floor to go on; null otherwise.
   */
  unreadable: Damage | null;
  /** The highest incident a hole record in the log names; 0 for none. */
  incident: number;
}

// What a first read found in one segment file.
interface Survey {
  info: SegmentInfo;
  /** Where its frames are read from, when that is another file (a misnamed segment put back). */
  from?: SegmentInfo;
  /** The header to read its frames by (a salvaged one for a damaged header), or null: not ours. */
  header: SegmentHeader | null;
  salvaged: boolean;
  /** Its seal: from the file's end, or found when salvaging its frames. */
  seal: Seal | null;
  /** Whether its frames were read as the log's last segment (under the tail rule). */
  readLast: boolean;
  /** The highest next sequence any of its frames tells (seals and marks included). */
  highest: number;
  /** The lowest sequence a record of this log read from it tells, taken or not; null for none. */
  lowest: number | null;
  damage: Damage[];
  torn: boolean;
  /** Sequence ranges of its intact batch and hole records, merged. */
  ranges: SequenceRange[];
  lastEntry: number | null;
  /** The highest incident a hole record in it names; 0 for none. */
  incident: number;
  /** The last segment, set aside with no frame read under any salt (see `RepairPlan.unreadable`). */
  unreadable?: boolean;
}

/**
 * Works out a repair, changing nothing. The rule: never rewind a sequence
 * and never discard an intact record. Each damaged segment is rebuilt from
 * its intact records, with a hole record for every run of sequences lost;
 * intact segments stay as they are; a file that is not part of the log is
 * set aside; missing segment numbers are filled with hole segments; and if
 * the log ever held a sequence beyond where it now ends, a hole carries the
 * next sequence past it.
 */
export async function planRepair(fs: WalFs, dir: string, floor = 0): Promise<RepairPlan | null> {
  const walker = new LogWalker(fs, { dir });
  const surveyOf = await surveyLog(walker);
  const infos = walker.segments;
  if (infos.length === 0) return null;
  const logId =
    commonLogId(infos.flatMap((i) => (i.header ? [i.header.logId] : []))) ??
    commonLogId(await statedLogIds(fs, infos)) ??
    '0000000000000000';
  const surveys = infos.map(surveyOf);
  const salvaged = await salvageHeaders(fs, surveys, logId);
  const relocated = await relocate(fs, dir, surveys, logId);
  // An operator's floor (above every sequence the log ever issued) only ever raises it.
  const highest = Math.max(walker.highestNextSequence, salvaged, relocated.highest, floor);
  const all = [...surveys, ...relocated.surveys].sort((a, b) => a.info.segment - b.info.segment);
  const incident = Math.max(0, ...all.map((s) => s.incident));
  return { ...decide(dir, logId, all, highest), incident };
}

/** Walks the log once; returns each segment's survey (one for a segment never reached, too). */
async function surveyLog(walker: LogWalker): Promise<(info: SegmentInfo) => Survey> {
  const surveys = new Map<SegmentInfo, Survey>();
  const surveyOf = (info: SegmentInfo): Survey => {
    let s = surveys.get(info);
    if (!s) {
      const readLast = info === walker.segments.at(-1);
      s = {
        info,
        header: info.header,
        salvaged: false,
        seal: info.seal,
        readLast,
        highest: 0,
        lowest: null,
        damage: [],
        torn: false,
        ranges: [],
        lastEntry: null,
        incident: 0,
      };
      surveys.set(info, s);
    }
    return s;
  };
  for await (const event of walker.walk()) {
    const s = surveyOf(event.info);
    if (event.kind === 'frames') {
      for (const { record } of event.frames) addRange(s, record);
    } else if (event.kind === 'damage') {
      s.damage.push(event.damage);
      if (event.torn) s.torn = true;
      if (event.damage.reason === 'bad-header') s.header = null;
    }
  }
  return surveyOf;
}

/**
 * Salvages every damaged header, in log order (each starts where the one
 * before it ends). Resolves to the highest next sequence any segment tells.
 */
async function salvageHeaders(fs: WalFs, surveys: Survey[], logId: string): Promise<number> {
  // Whether a valid header names the log's id (not only damaged ones).
  const logIdKnown = surveys.some((s) => s.info.header?.logId === logId);
  let highest = 0;
  let chainEnd: number | null = null;
  // Where the first valid header after each segment starts, if any.
  const laterStarts: (number | null)[] = [];
  for (let i = surveys.length - 1, later: number | null = null; i >= 0; i--) {
    laterStarts[i] = later;
    const h = surveys[i]?.header;
    if (h?.logId === logId) later = Math.min(later ?? h.firstSequence, h.firstSequence);
  }
  for (const [i, s] of surveys.entries()) {
    if (s.header === null && s.info.header === null) {
      const next = surveys[i + 1]?.info;
      const nextStart =
        next?.segment === s.info.segment + 1 && next.header?.logId === logId
          ? next.header.firstSequence
          : null;
      const laterStart = laterStarts[i] ?? null;
      const chain = { chainEnd, nextStart, laterStart, logIdKnown };
      await salvageHeader(fs, s, logId, chain, i === surveys.length - 1);
    }
    highest = Math.max(highest, s.highest);
    if (s.header) chainEnd = s.seal?.nextSequence ?? s.ranges.at(-1)?.nextSequence ?? null;
  }
  return highest;
}

/**
 * A segment of this log under another number: its sequences count for the
 * floor, and it goes back to its own number when that one is free.
 */
async function relocate(
  fs: WalFs,
  dir: string,
  surveys: Survey[],
  logId: string,
): Promise<{ surveys: Survey[]; highest: number }> {
  const taken = new Set(surveys.map((s) => s.info.segment));
  const relocated: Survey[] = [];
  let highest = 0;
  for (const s of surveys) {
    const { info, header } = s;
    const h = info.header;
    if (header !== null || !h || h.logId !== logId) continue;
    const found = await readSalvaged(fs, info, false);
    highest = Math.max(highest, found.highest);
    s.lowest = lowestOf(s.lowest, found.ranges);
    if (h.segment === info.segment || taken.has(h.segment)) continue;
    taken.add(h.segment);
    const file = path.join(dir, segmentFileName(h.segment));
    relocated.push({
      ...found,
      info: { ...info, segment: h.segment, file },
      from: info,
      header: h,
    });
  }
  return { surveys: relocated, highest };
}

function addRange(s: Survey, record: Parameters<typeof sequencesOf>[0]): void {
  const { first, next } = sequencesOf(record);
  s.highest = Math.max(s.highest, next);
  if (record.type !== 'batch' && record.type !== 'hole') return;
  const last = s.ranges.at(-1);
  if (last && last.nextSequence === first) last.nextSequence = next;
  else s.ranges.push({ firstSequence: first, nextSequence: next });
  if (record.type === 'batch') s.lastEntry = next - 1;
  else s.incident = Math.max(s.incident, record.incident);
}

// How many frames salvage reads to find a salt, at most.
const SALT_CANDIDATES = 8;
const SALVAGE_PROBE_BYTES = 1024 * 1024;

/**
 * A damaged header: its frames are read by the salt it states or by the one
 * that makes its own CRC hold (`solveHeaderSalt`; one frame is enough for
 * either), or else by the salt solved from one of its first frames (see
 * `solveFrameSalt`), taken only when it validates a second frame too; never
 * when its frames tell sequences a later segment holds. Its first sequence is where the previous segment
 * ends, or, for the log's first segment, what it states if its frames allow
 * it. The sequences of frames read by any of those salts count for the
 * floor, whether the segment is taken as this one's or not.
 */
async function salvageHeader(
  fs: WalFs,
  s: Survey,
  logId: string,
  chain: {
    chainEnd: number | null;
    nextStart: number | null;
    laterStart: number | null;
    logIdKnown: boolean;
  },
  last: boolean,
): Promise<void> {
  const { chainEnd, nextStart, laterStart } = chain;
  const { info } = s;
  if (info.size < SEGMENT_HEADER_SIZE) return;
  const fd = await io('open', info.file, () => fs.open(info.file, 'r'));
  let probe: Uint8Array;
  try {
    probe = await readAt(fs, fd, 0, Math.min(info.size, SALVAGE_PROBE_BYTES), info.file);
  } finally {
    await closeQuietly(fs, fd);
  }
  const max = readU32(probe, HEADER_MAX_RECORD_BYTES_OFFSET);
  const maxRecordBytes = isMaxRecordBytes(max) ? max : MAX_RECORD_BYTES_LIMIT;
  const stated = readU64(probe, HEADER_FIRST_SEQUENCE_OFFSET);
  const ownHeader = readU64(probe, HEADER_SEGMENT_OFFSET) === info.segment;
  const floor = chainEnd ?? 0;
  const statedSalt = readU32(probe, HEADER_SALT_OFFSET);
  // The salt that makes the header whole: found even when no frame boundary is.
  const headerSalt = solveHeaderSalt(probe);
  const salts = new Set([statedSalt, headerSalt]);
  let read = false;
  for (let p = SEGMENT_HEADER_SIZE, k = 0; k < SALT_CANDIDATES; k++) {
    const length = p + FRAME_HEADER_SIZE <= probe.length ? readU32(probe, p) : 0;
    const end = p + FRAME_HEADER_SIZE + length;
    if (length < MIN_RECORD_BYTES || length > maxRecordBytes || end > probe.length) break;
    salts.add(solveFrameSalt(probe, p, end));
    p = end;
  }
  for (const salt of salts) {
    const header = { segment: info.segment, firstSequence: floor, salt, maxRecordBytes, logId };
    const found = await readSalvaged(fs, { ...info, header, seal: null }, last);
    // Whatever the verdict, no sequence a frame here tells is handed out
    // again: the frame that validates may be one that was acknowledged.
    s.highest = Math.max(s.highest, found.highest);
    // Its records, those below the floor too (that read skips them), verified
    // or not: the plan lists as lost every one it does not keep.
    const all =
      floor > 0
        ? await readSalvaged(
            fs,
            { ...info, header: { ...header, firstSequence: 0 }, seal: null },
            last,
          )
        : found;
    s.lowest = lowestOf(s.lowest, all.ranges);
    if (found.frames > 0 || all.frames > 0) read = true;
    if (found.frames === 0) continue;
    // A frame that validates under the stated salt, or under the one solved
    // from the header's CRC, is this segment's but for a 2^-32 chance. A salt
    // solved from a frame validates that frame by construction, rotted or
    // not, so it needs a second frame (or to be the header's salt too).
    if (salt !== statedSalt && salt !== headerSalt && found.frames < 2) continue;
    // Frames telling sequences a later segment holds are that segment's (a
    // copy): taking them would make the later one's records look stale.
    if (laterStart !== null && found.highest > laterStart) continue;
    const first = found.firstSeen ?? floor;
    const end = found.seal?.nextSequence ?? found.ranges.at(-1)?.nextSequence ?? null;
    // Its frames are this segment's, not a copy of another one's: the header
    // still names this segment, or they continue the chain exactly: from the
    // segment before, or, for the log's first, into the one after (when there
    // is none, the check above keeps out a later segment's copy).
    const continues =
      first === chainEnd || (chainEnd === null && (nextStart === null || end === nextStart));
    if (!(ownHeader || continues)) continue;
    // The log's first segment: its stated first sequence, if its frames allow it.
    const start = chainEnd ?? (stated >= 0 && stated <= first ? stated : first);
    Object.assign(s, {
      header: { ...header, firstSequence: start },
      salvaged: true,
      seal: found.seal,
      readLast: last,
      highest: Math.max(s.highest, found.highest),
      ranges: found.ranges,
      lastEntry: found.lastEntry,
    });
    return;
  }
  // Set aside: where its header says it starts counts too (what it held may
  // not read at all), so that the plan lists that as lost.
  if (stated >= 0) s.lowest = Math.min(s.lowest ?? stated, stated);
  // The last segment, bytes past its header and not one frame read under
  // any salt: how far its records went is unknown (a hole can cover any
  // number of sequences), so the next sequence has no safe bound.
  // After segments naming the log's id, it is taken as this log's unless
  // what is left of its header says it is another's (the magic intact,
  // another id): a rotted sector can take the whole header, segment number
  // and id too, and a segment name is only given to a file whose header
  // was durable. With no segment naming the id, the writer starts a new
  // log (a new id), which no checkpoint of the old one replays.
  const statedLogId = Buffer.from(
    probe.subarray(HEADER_LOG_ID_OFFSET, HEADER_LOG_ID_OFFSET + LOG_ID_SIZE),
  ).toString('hex');
  const anothers = hasMagic(probe) && statedLogId !== logId;
  const ours = ownHeader || (chain.logIdKnown && !anothers);
  if (last && !read && ours && info.size > SEGMENT_HEADER_SIZE) s.unreadable = true;
}

function hasMagic(probe: Uint8Array): boolean {
  return SEGMENT_MAGIC.every((b, i) => probe[HEADER_MAGIC_OFFSET + i] === b);
}

async function readSalvaged(fs: WalFs, info: SegmentInfo, last: boolean) {
  const found: Survey = {
    info,
    header: info.header,
    salvaged: true,
    seal: null,
    readLast: last,
    highest: 0,
    lowest: null,
    damage: [],
    torn: false,
    ranges: [],
    lastEntry: null,
    incident: 0,
  };
  let frames = 0;
  let firstSeen: number | null = null;
  for await (const event of readFrames(fs, info, { last, loose: true })) {
    if (event.kind === 'frames') {
      for (const { record } of event.frames) {
        if (frames === 0) firstSeen = sequencesOf(record).first;
        frames++;
        addRange(found, record);
        if (record.type === 'seal') found.seal = record;
      }
    }
  }
  return { ...found, frames, firstSeen };
}

function decide(
  dir: string,
  logId: string,
  surveys: Survey[],
  highest: number,
): Omit<RepairPlan, 'incident'> {
  const actions: RepairAction[] = [];
  const writes: PlannedSegment[] = [];
  const add = (
    write: PlannedSegment,
    action: RepairAction['action'],
    s: Survey | null,
    lost: SequenceRange[],
  ) => {
    writes.push(write);
    const damage = s?.damage ?? [];
    actions.push({ action, file: write.file, segment: write.segment, keptIn: null, damage, lost });
  };
  for (const s of surveys) {
    if (s.header !== null) continue;
    const { file, segment } = s.info;
    actions.push({ action: 'remove', file, segment, keptIn: null, damage: s.damage, lost: [] });
  }
  const kept = surveys.filter((s) => s.header !== null);
  // The log starts low enough to list as lost every record of it that
  // repair read and does not keep (one below the first kept segment's start,
  // in a segment set aside or out of place in a later one): none goes unsaid.
  let expected = kept[0]?.header?.firstSequence ?? 0;
  for (const s of surveys) {
    const l = lowestOf(s.lowest, s.header === null ? [] : s.ranges);
    if (l !== null) expected = Math.min(expected, l);
  }
  let lastEntry: number | null = null;
  kept.forEach((s, k) => {
    const header = s.header as SegmentHeader;
    const { segment } = s.info;
    // Missing numbers before it become hole segments up to where it starts.
    const previous = kept[k - 1]?.info.segment;
    for (let n = (previous ?? segment) + 1; n < segment; n++) {
      const start = Math.max(expected, firstOf(s));
      const lost = gaps([], expected, start);
      add(hole(dir, n, expected, start, true), 'create', null, lost);
      expected = start;
    }
    const isLast = k === kept.length - 1;
    if (!needsRebuild(s, header, expected, isLast, highest)) {
      expected = endOf(s, expected);
    } else {
      const write = rebuilt(s, header, expected, isLast ? null : (kept[k + 1] as Survey), highest);
      // A misnamed segment put back is a new file: its copy is kept under its old name.
      add(write, s.from ? 'create' : 'rebuild', s, gaps(s.ranges, expected, write.nextSequence));
      expected = write.nextSequence;
    }
    if (s.lastEntry !== null) lastEntry = Math.max(lastEntry ?? -1, s.lastEntry);
  });
  // The floor: the log once held sequences up to `highest` (in a sealed
  // last segment's seal, say), so the writer goes on above them.
  if (expected < highest) {
    const n = (kept.at(-1)?.info.segment ?? -1) + 1;
    add(hole(dir, n, expected, highest, false), 'create', null, gaps([], expected, highest));
    expected = highest;
  }
  // A segment is salvaged only for its bad-header damage, its first.
  const unreadable = surveys.find((s) => s.unreadable && s.header === null)?.damage[0] ?? null;
  return { logId, actions, writes, nextSequence: expected, lastSequence: lastEntry, unreadable };
}

/**
 * Whether a segment must be rewritten: a salvaged header; any damage but
 * `bad-sequence` and `missing-segment` (the start check and the gap holes
 * deal with those); sequences that are not one run from its header's first;
 * a start other than where the log reached; or no seal (for the last
 * segment, only when the log once went further).
 */
function needsRebuild(
  s: Survey,
  header: SegmentHeader,
  expected: number,
  isLast: boolean,
  highest: number,
): boolean {
  return (
    s.salvaged ||
    // A chain break (a header that does not continue the segment before, a
    // missing number: damage at offset 0) is mended by the checks below; a
    // frame out of place among the frames is damage like any other.
    s.damage.some(
      (d) =>
        (d.reason !== 'bad-sequence' && d.reason !== 'missing-segment') ||
        d.offset >= SEGMENT_HEADER_SIZE,
    ) ||
    s.ranges.length > 1 ||
    (s.ranges[0] !== undefined && s.ranges[0].firstSequence !== header.firstSequence) ||
    header.firstSequence !== expected ||
    (!isLast && s.seal === null) ||
    (isLast && s.seal === null && highest > endOf(s, expected))
  );
}

/**
 * A segment rewritten from its intact records, starting at `expected`. It
 * ends where the next segment (`null` for the last), left as it is, starts;
 * the last one at the floor (`highest`); never below its own last record.
 */
function rebuilt(
  s: Survey,
  header: SegmentHeader,
  expected: number,
  next: Survey | null,
  highest: number,
): PlannedSegment {
  const { segment, file } = s.info;
  const end = Math.max(expected, s.ranges.at(-1)?.nextSequence ?? expected);
  const follows =
    next?.info.segment === segment + 1 && next.header ? next.header.firstSequence : end;
  return {
    segment,
    file,
    source: { info: s.from ?? s.info, header, last: s.readLast, loose: s.salvaged },
    firstSequence: expected,
    nextSequence: Math.max(end, next === null ? highest : follows),
    sealed: next !== null || s.seal !== null,
  };
}

function hole(
  dir: string,
  segment: number,
  first: number,
  next: number,
  sealed: boolean,
): PlannedSegment {
  const file = path.join(dir, segmentFileName(segment));
  return { segment, file, source: null, firstSequence: first, nextSequence: next, sealed };
}

// The lowest of `lowest` and the first sequences of `ranges`.
function lowestOf(lowest: number | null, ranges: readonly SequenceRange[]): number | null {
  return ranges.reduce<number | null>(
    (l, r) => (l === null ? r.firstSequence : Math.min(l, r.firstSequence)),
    lowest,
  );
}

function firstOf(s: Survey): number {
  return s.ranges[0]?.firstSequence ?? s.header?.firstSequence ?? 0;
}

// Where a segment left as it is ends: its seal, or its last record.
function endOf(s: Survey, expected: number): number {
  return s.seal?.nextSequence ?? s.ranges.at(-1)?.nextSequence ?? expected;
}

// The runs of [from, to) that `ranges` do not cover (sequences below `from` are dropped).
function gaps(ranges: SequenceRange[], from: number, to: number): SequenceRange[] {
  const out: SequenceRange[] = [];
  let at = from;
  for (const r of ranges) {
    if (r.nextSequence <= at) continue;
    if (r.firstSequence > at)
      out.push({ firstSequence: at, nextSequence: Math.min(r.firstSequence, to) });
    at = Math.max(at, r.nextSequence);
  }
  if (at < to) out.push({ firstSequence: at, nextSequence: to });
  return out.filter((g) => g.nextSequence > g.firstSequence);
}

// The id most of them name, or null for none.
function commonLogId(ids: readonly string[]): string | null {
  const counts = new Map<string, number>();
  let best: string | null = null;
  let bestCount = 0;
  for (const id of ids) {
    const n = (counts.get(id) ?? 0) + 1;
    counts.set(id, n);
    if (n >= bestCount) {
      best = id;
      bestCount = n;
    }
  }
  return best;
}

// What the damaged headers state as the log id: with no valid header left,
// the best evidence of the log's identity, which a checkpoint may hold (a
// rebuilt header must not give the log a new one).
async function statedLogIds(fs: WalFs, infos: readonly SegmentInfo[]): Promise<string[]> {
  const ids: string[] = [];
  for (const info of infos) {
    if (info.header || info.size < SEGMENT_HEADER_SIZE) continue;
    const fd = await io('open', info.file, () => fs.open(info.file, 'r'));
    try {
      const bytes = await readAt(fs, fd, HEADER_LOG_ID_OFFSET, LOG_ID_SIZE, info.file);
      ids.push(Buffer.from(bytes).toString('hex'));
    } finally {
      await closeQuietly(fs, fd);
    }
  }
  return ids;
}
