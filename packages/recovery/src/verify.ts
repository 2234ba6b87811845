import path from 'node:path';
import type { Damage } from '@wal/codec';
import { checkPath } from '@wal/codec/internal';
import type { SegmentInfo } from '@wal/fs/segments';
import { parseVerifyOptions } from './options.js';
import { planRepair } from './repair-plan.js';
import type { CommonOptions, HoleFound } from './types.js';
import { LogWalker, type WalkEvent } from './walker.js';

/** Options of {@link verify}. */
export interface VerifyOptions extends CommonOptions {
  /**
   * `'tolerate-tail'` (default): a torn tail does not make the log bad, since
   * opening it cuts the tail. `'strict'`: it does.
   */
  mode?: 'strict' | 'tolerate-tail' | undefined;
}

/** One segment file, as {@link verify} found it. */
export interface SegmentReport {
  segment: number;
  file: string;
  /** File size. */
  bytes: number;
  /**
   * `ok`; `torn-tail` (the last segment ends in a torn write); `damaged` (any
   * other damage); `unreadable` (no valid header of this log: not read).
   */
  status: 'ok' | 'torn-tail' | 'damaged' | 'unreadable';
  /** True when it ends with a valid seal. */
  sealed: boolean;
  /** From the header; null without a valid header. */
  firstSequence: number | null;
  /** The last sequence read from it, or null when it holds none. */
  lastSequence: number | null;
  /** Batch records read. */
  records: number;
  entries: number;
  /** Its damaged regions, the torn tail included. */
  damage: Damage[];
}

/** What {@link verify} returns. */
export interface VerifyReport {
  dir: string;
  mode: 'strict' | 'tolerate-tail';
  /** True when the log is clean for `mode`: no damage (and, in strict, no torn tail). */
  ok: boolean;
  segments: SegmentReport[];
  /** All damage that is not the torn tail, in log order. */
  damage: Damage[];
  tornTail: Damage | null;
  /** Sequences an earlier repair recorded as lost. */
  holes: HoleFound[];
  records: number;
  entries: number;
  /** The sequence the writer will continue from after {@link repair}: above every sequence seen. */
  nextSequence: number;
  durationMs: number;
}

/**
 * Reads the whole log without changing it, and reports every segment and
 * every damaged region (it resyncs past damage to find them all), then one
 * verdict. Does not take the writer lock: it may run beside a writer, whose
 * in-flight tail then shows as a torn tail.
 *
 * Rejects with `WAL_NOT_FOUND` when `dir` does not exist (a mistyped or
 * unmounted path is not an empty log), `WAL_IO_ERROR` when a file cannot be
 * read (never reported as damage) and `WAL_INVALID_ARGUMENT` when `dir` is a file.
 */
export async function verify(dir: string, options?: VerifyOptions): Promise<VerifyReport> {
  const resolvedDir = path.resolve(checkPath(dir, 'dir'));
  const { fs, mode } = parseVerifyOptions(options);
  const started = performance.now();
  const walker = new LogWalker(fs, { dir: resolvedDir });
  const report = emptyReport(resolvedDir, mode);
  const reports = new Map<SegmentInfo, SegmentReport>();
  for await (const event of walker.walk()) {
    const r = reportOf(reports, event.info);
    if (event.kind === 'frames') count(r, report, event);
    else if (event.kind === 'damage') noteDamage(r, report, event);
  }
  conclude(report, walker, reports);
  // A damaged header keeps the walk out of its segment; repair salvages its
  // frames, and the sequences they tell are never handed out again.
  if (report.damage.some((d) => d.reason === 'bad-header')) {
    const plan = await planRepair(fs, resolvedDir);
    report.nextSequence = Math.max(report.nextSequence, plan?.nextSequence ?? 0);
  }
  report.durationMs = performance.now() - started;
  return report;
}

function emptyReport(dir: string, mode: VerifyReport['mode']): VerifyReport {
  return {
    dir,
    mode,
    ok: true,
    segments: [],
    damage: [],
    tornTail: null,
    holes: [],
    records: 0,
    entries: 0,
    nextSequence: 0,
    durationMs: 0,
  };
}

function reportOf(reports: Map<SegmentInfo, SegmentReport>, info: SegmentInfo): SegmentReport {
  let r = reports.get(info);
  if (!r) {
    r = newReport(info);
    reports.set(info, r);
  }
  return r;
}

/** A damaged region: the segment's status, and the torn tail or the log's damage list. */
function noteDamage(
  r: SegmentReport,
  report: VerifyReport,
  { damage, torn }: Extract<WalkEvent, { kind: 'damage' }>,
): void {
  r.damage.push(damage);
  if (damage.reason === 'bad-header') r.status = 'unreadable';
  else if (!torn) r.status = 'damaged';
  else if (r.status === 'ok') r.status = 'torn-tail';
  if (torn) report.tornTail = damage;
  else report.damage.push(damage);
}

/** After the walk: every segment in order (read or not), the totals and the verdict. */
function conclude(
  report: VerifyReport,
  walker: LogWalker,
  reports: Map<SegmentInfo, SegmentReport>,
): void {
  for (const info of walker.segments) {
    const r = reportOf(reports, info);
    if (r.status === 'ok' && info.header && info.header.segment !== info.segment) {
      r.status = 'unreadable';
    }
    report.segments.push(r);
    report.records += r.records;
    report.entries += r.entries;
  }
  report.nextSequence = walker.highestNextSequence;
  const tailOk = report.mode === 'tolerate-tail' || report.tornTail === null;
  report.ok = report.damage.length === 0 && tailOk;
}

function newReport(info: SegmentInfo): SegmentReport {
  return {
    segment: info.segment,
    file: info.file,
    bytes: info.size,
    status: 'ok',
    sealed: info.seal !== null,
    firstSequence: info.header?.firstSequence ?? null,
    lastSequence: null,
    records: 0,
    entries: 0,
    damage: [],
  };
}

function count(
  r: SegmentReport,
  report: VerifyReport,
  event: Extract<WalkEvent, { kind: 'frames' }>,
): void {
  for (const { offset, record } of event.frames) {
    if (record.type === 'batch') {
      r.records++;
      r.entries += record.entries.length;
      r.lastSequence = record.firstSequence + record.entries.length - 1;
    } else if (record.type === 'hole') {
      const { firstSequence, nextSequence, incident } = record;
      report.holes.push({
        file: r.file,
        segment: r.segment,
        offset,
        firstSequence,
        nextSequence,
        incident,
      });
    }
  }
}
