import { scanLog } from '@wal/recovery';
import { choiceOption, parseCommand } from '../args.js';
import { type Command, Exit } from '../command.js';
import { checkLogDir } from '../log-dir.js';
import { count, formatBytes } from '../output.js';
import { MODES } from './modes.js';

export const stats: Command = {
  name: 'stats',
  summary: 'recovery stats and scan speed',
  help: `Usage: wal stats <dir> [--mode MODE] [--json]

Runs a recovery scan (nothing is kept in memory) and prints its stats:
entries and bytes recovered, damage skipped, torn tail, gaps, and the scan's
speed in MB/s and entries/s.

Options:
  --mode MODE  tolerate-tail (default): count a torn tail, stop at other
               damage with exit 1; strict: stop at any damage, exit 1;
               point-in-time: stop at damage and say where, exit 0;
               skip-corrupted: skip damage and count it, exit 0
  --json       the stats as JSON, with mbPerSecond and entriesPerSecond
  -h, --help   this help`,
  async run(argv, out) {
    const { dir, values } = parseCommand('stats', argv, {
      mode: { type: 'string' },
      json: { type: 'boolean' },
    });
    const mode = choiceOption('mode', values.mode as string | undefined, MODES, 'tolerate-tail');
    const resolved = checkLogDir('stats', dir);
    const scan = scanLog(resolved, { mode });
    let n = 0;
    for await (const _ of scan) {
      if (++n % 100_000 === 0) out.progress(`stats: ${n} entries`);
    }
    const s = scan.stats;
    const seconds = Math.max(s.durationMs, 0.001) / 1000;
    const scanned = s.bytesRecovered + s.bytesSkipped;
    const speed = {
      mbPerSecond: scanned / 1e6 / seconds,
      entriesPerSecond: s.entriesRecovered / seconds,
    };
    if (values.json) {
      await out.line(JSON.stringify({ ...s, ...speed }, null, 2));
      return Exit.OK;
    }
    const lines = [
      `mode: ${s.mode}`,
      `segments scanned: ${s.segmentsScanned}`,
      `entries recovered: ${s.entriesRecovered}`,
      `bytes recovered: ${s.bytesRecovered} (${formatBytes(s.bytesRecovered)})`,
      `damaged regions: ${s.entriesCorrupted}; bytes skipped: ${s.bytesSkipped}`,
      `torn tail: ${s.tornTail ? `${s.tornTail.file} at offset ${s.tornTail.offset}, ${s.tornTail.bytes} bytes` : 'none'}`,
      `gaps: ${s.gaps.length}`,
      ...(s.stoppedAt
        ? [
            `stopped at: ${s.stoppedAt.reason} in ${s.stoppedAt.file} at offset ${s.stoppedAt.offset}; not read from there: ${count(s.bytesUnread, 'byte')} (${count(s.segmentsUnread, 'whole segment')})`,
          ]
        : []),
      `last sequence: ${s.lastSequence ?? 'none'}; next sequence: ${s.nextSequence}`,
      `scan: ${s.durationMs.toFixed(1)} ms, ${speed.mbPerSecond.toFixed(1)} MB/s, ${Math.round(speed.entriesPerSecond)} entries/s`,
    ];
    for (const l of lines) await out.line(l);
    return Exit.OK;
  },
};
