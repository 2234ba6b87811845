import {
  type LogScan,
  type RecoveryStats,
  readSegment,
  type ScanOptions,
  scanLog,
} from '@wal/recovery';
import { type Context, Exit } from '../command.js';
import { withoutTornTail } from '../damage-text.js';
import { jsonLine, textLine } from '../entry-format.js';
import { count, lostText, type Output, shellArg } from '../output.js';
import { Progress } from '../progress.js';
import type { Target } from '../target.js';
import type { DumpOptions } from './dump.js';

/** Output is written in pieces of about this size, waiting for the reader in between. */
export const FLUSH_AT = 64 * 1024;

/** `wal dump`: the entries, streamed through a scan, then notes on what was not shown. */
export async function dumpEntries(
  { out, fs }: Context,
  target: Target,
  options: DumpOptions,
): Promise<number> {
  const progress = await Progress.start(fs, out, 'dump', target);
  const scan = openScan(target, options, progress);
  const line = options.json ? jsonLine : textLine;
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  let printed = 0;
  let chunk = '';
  try {
    for await (const entries of scan.batches()) {
      for (const entry of entries) {
        if (printed >= limit) break;
        if (options.keys && !options.keys(entry)) continue;
        chunk += line(entry, options.encoding);
        printed++;
        // A read's entries may print as megabytes: flush as it grows.
        if (chunk.length >= FLUSH_AT) {
          await out.write(chunk);
          chunk = '';
          progress.entries(printed);
          if (out.stopped) break;
        }
      }
      // The reader went away (or the disk is full): the rest would be written to no one.
      if (printed >= limit || out.stopped) break;
    }
  } finally {
    // At damage the scan throws: the entries before it are still printed.
    progress.done();
    await out.write(chunk);
  }
  // Stopped early, the scan has not seen what the notes would be about.
  if (!out.stopped) notes(out, scan.stats, target, options);
  return Exit.OK;
}

function openScan(target: Target, options: DumpOptions, progress: Progress): LogScan {
  const scanOptions: ScanOptions = {
    fs: progress.fs,
    mode: options.mode,
    fromSequence: options.from,
  };
  if (options.to !== undefined) scanOptions.toSequence = options.to;
  // A key filter drops entries after the scan, so the scan cannot count them.
  if (options.limit !== undefined && !options.keys) scanOptions.limit = options.limit;
  return target.kind === 'dir'
    ? scanLog(target.path, scanOptions)
    : readSegment(target.path, scanOptions);
}

// What the entries on stdout do not show, on stderr.
function notes(out: Output, stats: RecoveryStats, target: Target, options: DumpOptions): void {
  const { tornTail, damage, holes, stoppedAt } = stats;
  const verify = `see wal verify ${shellArg(target.arg)}`;
  const skipped = withoutTornTail(damage, tornTail);
  if (stoppedAt) {
    out.error(
      `note: stopped at ${stoppedAt.reason} in ${stoppedAt.file} at offset ${stoppedAt.offset}; later entries not shown (${verify})`,
    );
  } else if (skipped.length > 0) {
    out.error(`note: skipped ${count(skipped.length, 'damaged region')} (${verify})`);
  }
  if (tornTail) {
    out.error(
      `note: torn tail in ${tornTail.file} at offset ${tornTail.offset} (${count(tornTail.bytes, 'byte')}) not shown`,
    );
  }
  const to = options.to ?? Number.POSITIVE_INFINITY;
  for (const hole of holes) {
    if (hole.nextSequence <= options.from || hole.firstSequence > to) continue;
    out.error(`note: ${lostText(hole, target.kind === 'dir' ? target.arg : null)}`);
  }
}
