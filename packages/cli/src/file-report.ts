import path from 'node:path';
import type { Damage } from '@wal/codec';
import type { WalFs } from '@wal/fs';
import { listSegmentFiles, parseSegmentFileName, readSegmentInfo } from '@wal/fs/segments';
import { type HoleFound, readSegment, type SegmentReport } from '@wal/recovery';
import { withoutTornTail } from './damage-text.js';
import { segmentOfTarget, type Target } from './target.js';

/** What `wal verify <file>` found in one segment file read alone (its `--json`). */
export interface FileReport {
  file: string;
  /** From the file name, else from its header. */
  segment: number;
  mode: 'strict' | 'tolerate-tail';
  /** No damage (and, in strict, no torn tail). */
  ok: boolean;
  status: SegmentReport['status'];
  /** True when it ends with a valid seal. Sealed or not, the file is read as the end of its log. */
  sealed: boolean;
  bytes: number;
  firstSequence: number | null;
  lastSequence: number | null;
  nextSequence: number;
  entries: number;
  /** All damage that is not the torn tail. */
  damage: Damage[];
  tornTail: Damage | null;
  holes: HoleFound[];
  durationMs: number;
}

/**
 * Verifies one segment file on its own through `readSegment`, as the last
 * segment of its log (the tail rule applies, sealed or not), reading past
 * damage and torn writes to list all of them. A segment of a log directory
 * that a later segment follows is not the last: what would be its torn tail
 * is damage, as `wal verify <dir>` reports it.
 */
export async function verifyFile(
  fs: WalFs,
  target: Target,
  mode: FileReport['mode'],
): Promise<FileReport> {
  const started = performance.now();
  const info = await readSegmentInfo(fs, target.path, segmentOfTarget(target));
  const scan = readSegment(target.path, { fs, mode: 'skip-corrupted' });
  let entries = 0;
  for await (const batch of scan.batches()) entries += batch.length;
  const { holes, firstSequence, lastSequence, nextSequence } = scan.stats;
  let tornTail = scan.stats.tornTail;
  const damage = withoutTornTail(scan.stats.damage, tornTail);
  const later = tornTail && (await laterSegment(fs, target.path, info.segment));
  if (tornTail && later) {
    // As the scan of its log reads it: only the last segment has a torn tail.
    damage.push({
      ...tornTail,
      detail: `${tornTail.detail}; ${later} follows it, so it is not the log's last segment, where alone a write can be torn`,
    });
    tornTail = null;
  }
  return {
    file: target.path,
    segment: info.segment,
    mode,
    ok: damage.length === 0 && (mode === 'tolerate-tail' || tornTail === null),
    status: statusOf(damage, tornTail),
    sealed: info.seal !== null,
    bytes: info.size,
    firstSequence,
    lastSequence,
    nextSequence,
    entries,
    damage,
    tornTail,
    holes,
    durationMs: performance.now() - started,
  };
}

// The name of a later segment beside `file` in its directory, if there is
// one. Not for a copy under another name (`.broken`), nor when the
// directory cannot be listed: then the file stays the end of its log. A
// repair incident's copies keep their names, so among them a later one
// counts, as it did in the log they came from.
async function laterSegment(fs: WalFs, file: string, segment: number): Promise<string | null> {
  if (parseSegmentFileName(path.basename(file)) !== segment) return null;
  try {
    const later = (await listSegmentFiles(fs, path.dirname(file))).find((f) => f.segment > segment);
    return later ? path.basename(later.file) : null;
  } catch {
    return null;
  }
}

// As verify has it: a bad header leaves the frames unread.
function statusOf(damage: Damage[], tornTail: Damage | null): FileReport['status'] {
  if (damage.some((d) => d.reason === 'bad-header')) return 'unreadable';
  if (damage.length > 0) return 'damaged';
  return tornTail ? 'torn-tail' : 'ok';
}
