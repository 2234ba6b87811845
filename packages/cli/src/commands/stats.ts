import { type LogScan, type RecoveryStats, readSegment, scanLog } from '@wal/recovery';
import { choiceOption } from '../args.js';
import { type Command, Exit } from '../command.js';
import { count, formatBytes } from '../output.js';
import { Progress } from '../progress.js';
import { resolveTarget } from '../target.js';
import { MODES } from './modes.js';

export const stats: Command = {
  name: 'stats',
  summary: 'recovery stats and scan speed',
  help: `Usage: wal stats <dir|file> [--mode MODE] [--json]

Runs a recovery scan (nothing is kept in memory) and prints its stats:
entries and bytes recovered, damage skipped, the torn tail, sequences an
earlier repair recorded as lost, and the scan's speed in MB/s and entries/s.
A <file> is one segment file read alone.

Options:
  --mode MODE  tolerate-tail (default): count a torn tail, stop at other
               damage with exit 1; strict: stop at any damage, exit 1;
               point-in-time: stop at damage and say where, exit 0;
               skip-corrupted: skip damage and count it, exit 0
  --json       the stats as JSON, with mbPerSecond and entriesPerSecond
  -h, --help   this help

Exit status: 0 scan finished, 1 damage stopped it, 2 usage error, 3 failure
(no log at the path, permission denied, an I/O error).`,
  options: { mode: { type: 'string' } },
  async run({ arg, values }, context) {
    const { out } = context;
    const mode = choiceOption('mode', values.mode as string | undefined, MODES, 'tolerate-tail');
    const target = await resolveTarget(context, 'stats', arg, true);
    const progress = await Progress.start(context.fs, out, 'stats', target);
    const options = { fs: progress.fs, mode };
    const scan: LogScan =
      target.kind === 'dir' ? scanLog(target.path, options) : readSegment(target.path, options);
    let n = 0;
    try {
      for await (const entries of scan.batches()) {
        n += entries.length;
        progress.entries(n);
      }
    } finally {
      progress.done();
    }
    const s = scan.stats;
    const seconds = Math.max(s.durationMs, 0.001) / 1000;
    const speed = {
      mbPerSecond: (s.bytesRecovered + s.bytesSkipped) / 1e6 / seconds,
      entriesPerSecond: s.entriesRecovered / seconds,
    };
    if (values.json) {
      await out.line(JSON.stringify({ ...s, ...speed }, null, 2));
      return Exit.OK;
    }
    for (const line of statsLines(s)) await out.line(line);
    await out.line(
      `scan: ${s.durationMs.toFixed(1)} ms, ${speed.mbPerSecond.toFixed(1)} MB/s, ${Math.round(speed.entriesPerSecond)} entries/s`,
    );
    return Exit.OK;
  },
};

function statsLines(s: RecoveryStats): string[] {
  const lost = s.holes.reduce((sum, h) => sum + h.nextSequence - h.firstSequence, 0);
  const sequences = (n: number | null) => n ?? 'none';
  return [
    `mode: ${s.mode}`,
    `segments scanned: ${s.segmentsScanned}`,
    `entries recovered: ${s.entriesRecovered}`,
    `bytes recovered: ${s.bytesRecovered} (${formatBytes(s.bytesRecovered)})`,
    `damaged regions: ${s.damagedRegions}; bytes skipped: ${s.bytesSkipped}`,
    `torn tail: ${s.tornTail ? `${s.tornTail.file} at offset ${s.tornTail.offset}, ${count(s.tornTail.bytes, 'byte')}` : 'none'}`,
    `lost to earlier damage: ${count(lost, 'sequence')} in ${count(s.holes.length, 'hole')}`,
    ...(s.stoppedAt
      ? [
          `stopped at: ${s.stoppedAt.reason} in ${s.stoppedAt.file} at offset ${s.stoppedAt.offset}; not read from there: ${count(s.bytesUnread, 'byte')} (${count(s.segmentsUnread, 'whole segment')})`,
        ]
      : []),
    `first sequence: ${sequences(s.firstSequence)}; last sequence: ${sequences(s.lastSequence)}; next sequence: ${s.nextSequence}`,
  ];
}
