import path from 'node:path';
import { type SegmentReport, type VerifyReport, verify } from '@wal/recovery';
import { type Command, Exit } from '../command.js';
import { count, formatBytes, formatTable, lostText, type Output } from '../output.js';
import { Progress } from '../progress.js';
import { resolveTarget } from '../target.js';

const STATUS: Record<SegmentReport['status'], string> = {
  ok: 'ok',
  'torn-tail': 'torn tail',
  damaged: 'damaged',
  unreadable: 'unreadable',
};

export const inspect: Command = {
  name: 'inspect',
  summary: 'a table of segments: sequences, records, bytes, seal, status',
  help: `Usage: wal inspect <dir> [--json]

One row per segment file: number, first-last sequence, records, entries,
bytes, whether it is sealed, and status (ok, torn tail, damaged, unreadable),
then missing segments, sequences an earlier repair recorded as lost, and
totals. Reads the whole log, past any damage; changes nothing. Exits 0
whatever it finds: use wal verify for a verdict.

Options:
  --json      the full report as JSON
  -h, --help  this help

Exit status: 0 report printed (even of a damaged log), 2 usage error,
3 failure (no log at the path, permission denied, an I/O error).`,
  options: {},
  async run({ arg, values }, context) {
    const { out } = context;
    const target = await resolveTarget(context, 'inspect', arg, false);
    const progress = await Progress.start(context.fs, out, 'inspect', target);
    const report = await verify(target.path, { fs: progress.fs }).finally(() => progress.done());
    if (values.json) {
      await out.line(JSON.stringify(report, null, 2));
      return Exit.OK;
    }
    for (const line of table(out, report)) await out.line(line);
    for (const d of report.damage) {
      if (d.reason === 'missing-segment') await out.line(out.style('red', `missing: ${d.detail}`));
    }
    for (const h of report.holes) {
      await out.line(`hole in ${path.basename(h.file)}: ${lostText(h, target.arg)}`);
    }
    const bytes = report.segments.reduce((sum, s) => sum + s.bytes, 0);
    await out.line(
      `total: ${count(report.segments.length, 'segment')}, ${count(report.records, 'record')}, ${count(report.entries, 'entry', 'entries')}, ${formatBytes(bytes)}; next sequence ${report.nextSequence}`,
    );
    return Exit.OK;
  },
};

function table(out: Output, report: VerifyReport): string[] {
  const rows = report.segments.map((s) => [
    path.basename(s.file),
    String(s.segment),
    s.firstSequence === null ? '-' : `${s.firstSequence}-${s.lastSequence ?? '(none)'}`,
    String(s.records),
    String(s.entries),
    String(s.bytes),
    s.sealed ? 'yes' : 'no',
    statusText(out, s.status),
  ]);
  const header = ['file', 'number', 'sequences', 'records', 'entries', 'bytes', 'sealed', 'status'];
  return formatTable(header, rows, [false, true, false, true, true, true, false, false]);
}

function statusText(out: Output, status: SegmentReport['status']): string {
  const text = STATUS[status];
  if (status === 'ok') return out.style('green', text);
  return out.style(status === 'torn-tail' ? 'yellow' : 'red', text);
}
