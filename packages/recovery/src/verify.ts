import path from 'node:path';
import { LogWalker } from './log-walker.js';
import { checkPath, parseVerifyOptions } from './options.js';
import type { SegmentInfo } from './segments.js';
import type { CommonOptions, Corruption, Gap, TornTail } from './types.js';

/** Options of {@link verify}. */
export interface VerifyOptions extends CommonOptions {
  /**
   * `'tolerate-tail'` (default): a torn tail does not make the log bad, since
   * opening it cuts the tail. `'strict'`: it does.
   */
  mode?: 'strict' | 'tolerate-tail';
}

/** A damaged region, as {@link verify} lists it per segment. */
export interface Damage extends Corruption {
  /** True for the torn tail (see {@link TornTail}). */
  tornTail: boolean;
}

/** One segment file, as {@link verify} found it. */
export interface SegmentReport {
  segment: number;
  file: string;
  /** File size. */
  bytes: number;
  /**
   * `ok`; `empty` (a zero-length last file); `torn-tail`; `damaged` (any other
   * damage); `gap` (a swapped or foreign file, not read).
   */
  status: 'ok' | 'empty' | 'torn-tail' | 'damaged' | 'gap';
  /** From the header; null without a valid header. */
  firstSequence: number | null;
  /** The last sequence read from it, or null when it holds none. */
  lastSequence: number | null;
  records: number;
  entries: number;
  damage: Damage[];
}

/** What {@link verify} returns. */
export interface VerifyReport {
  dir: string;
  mode: 'strict' | 'tolerate-tail';
  /** True when the log is clean for `mode`: no damage and no gap (and, in strict, no torn tail). */
  ok: boolean;
  segments: SegmentReport[];
  gaps: Gap[];
  /** All damage that is not the torn tail, in log order. */
  corruptions: Corruption[];
  tornTail: TornTail | null;
  records: number;
  entries: number;
  /** The sequence a writer would use next after {@link repair}: the end of the valid prefix. */
  nextSequence: number;
  durationMs: number;
}

/**
 * Reads the whole log without changing it, and reports every segment, every
 * damaged region and every gap (it resyncs past damage to find them all),
 * then one verdict. Does not take the writer lock: it may run beside a
 * writer, whose in-flight tail then shows as a torn tail.
 *
 * Throws `WAL_IO_ERROR` when a file cannot be read (never reported as damage)
 * and `WAL_INVALID_ARGUMENT` when `dir` is a file. A missing directory is an
 * empty, clean log.
 */
export async function verify(dir: string, options?: VerifyOptions): Promise<VerifyReport> {
  const resolvedDir = path.resolve(checkPath(dir, 'dir'));
  const { fs, maxRecordBytes, mode } = parseVerifyOptions(options);
  const started = performance.now();
  const walker = new LogWalker(fs, { dir: resolvedDir }, maxRecordBytes);
  const report: VerifyReport = {
    dir: resolvedDir,
    mode,
    ok: true,
    segments: [],
    gaps: [],
    corruptions: [],
    tornTail: null,
    records: 0,
    entries: 0,
    nextSequence: 0,
    durationMs: 0,
  };
  const reports = new Map<SegmentInfo, SegmentReport>();
  const reportOf = (segment: SegmentInfo): SegmentReport => {
    let r = reports.get(segment);
    if (!r) {
      r = {
        segment: segment.segmentNumber,
        file: segment.file,
        bytes: segment.size,
        status: segment.size === 0 ? 'empty' : 'ok',
        firstSequence: segment.header?.firstSequence ?? null,
        lastSequence: null,
        records: 0,
        entries: 0,
        damage: [],
      };
      reports.set(segment, r);
      report.segments.push(r);
    }
    return r;
  };
  // Sequence-gapped segments are still read; only the chain between is broken.
  // Swapped and foreign ones are not, so theirs is the `gap` status.
  // Pauses between chunks keep the event loop responsive.
  let prefixEnd: number | null = null;
  for (const event of walker.walk()) {
    if (prefixEnd === null && (event.kind === 'gap' || (event.kind === 'damage' && !event.torn))) {
      prefixEnd = walker.nextSequence;
    }
    if (event.kind === 'read') {
      await new Promise(setImmediate);
    } else if (event.kind === 'segment') {
      reportOf(event.segment);
    } else if (event.kind === 'gap') {
      report.gaps.push(event.gap);
      if (event.gap.kind === 'swapped' || event.gap.kind === 'foreign') {
        reportOf(event.segment).status = 'gap';
      }
    } else if (event.kind === 'record') {
      const r = reportOf(event.segment);
      const { entries } = event.record;
      r.records++;
      r.entries += entries.length;
      r.lastSequence = event.record.firstSequence + entries.length - 1;
    } else if (event.kind === 'damage') {
      const { segment, offset, bytes, reason, detail, torn } = event;
      const damage = {
        segment: segment.segmentNumber,
        file: segment.file,
        offset,
        bytes,
        reason,
        detail,
      };
      const r = reportOf(segment);
      r.damage.push({ ...damage, tornTail: torn });
      if (!torn) {
        r.status = 'damaged';
        report.corruptions.push(damage);
      } else {
        if (r.status !== 'damaged') r.status = 'torn-tail';
        if (report.tornTail) report.tornTail.bytes += bytes;
        else report.tornTail = damage;
      }
    }
  }
  for (const segment of walker.segments) {
    const r = reportOf(segment);
    r.bytes = segment.size;
    report.records += r.records;
    report.entries += r.entries;
  }
  report.nextSequence = prefixEnd ?? walker.nextSequence;
  report.ok =
    report.gaps.length === 0 &&
    report.corruptions.length === 0 &&
    (mode === 'tolerate-tail' || report.tornTail === null);
  report.durationMs = performance.now() - started;
  return report;
}
