import path from 'node:path';
import { type SegmentReport, verify } from '@wal/recovery';
import { parseCommand } from '../args.js';
import { type Command, Exit } from '../command.js';
import { checkLogDir } from '../log-dir.js';
import { count, formatBytes, formatTable, type Output } from '../output.js';

const STATUS: Record<SegmentReport['status'], string> = {
  ok: 'ok',
  empty: 'empty',
  'torn-tail': 'torn tail',
  damaged: 'damaged',
  gap: 'gap',
};

export const inspect: Command = {
  name: 'inspect',
  summary: 'a table of segments: sequences, records, bytes, status',
  help: `Usage: wal inspect <dir> [--json]

One row per segment file: number, first-last sequence, records, entries,
bytes and status (ok, empty, torn tail, damaged, gap), then totals.
Reads the whole log, past any damage; changes nothing. Exits 0 whatever it
finds: use wal verify for a verdict.

Options:
  --json      the full report as JSON
  -h, --help  this help`,
  async run(argv, out) {
    const { dir, values } = parseCommand('inspect', argv, { json: { type: 'boolean' } });
    const resolved = checkLogDir('inspect', dir);
    const report = await out.withProgress('inspect: reading', verify(resolved));
    if (values.json) {
      await out.line(JSON.stringify(report, null, 2));
      return Exit.OK;
    }
    const rows = report.segments.map((s) => [
      path.basename(s.file),
      String(s.segment),
      s.firstSequence === null ? '-' : `${s.firstSequence}-${s.lastSequence ?? '(none)'}`,
      String(s.records),
      String(s.entries),
      String(s.bytes),
      statusText(out, s.status),
    ]);
    const header = ['file', 'number', 'sequences', 'records', 'entries', 'bytes', 'status'];
    for (const l of formatTable(header, rows, [false, true, false, true, true, true, false])) {
      await out.line(l);
    }
    for (const gap of report.gaps) {
      await out.line(
        out.style('red', `gap (${gap.kind}) at ${path.basename(gap.file)}: ${gap.detail}`),
      );
    }
    const bytes = report.segments.reduce((sum, s) => sum + s.bytes, 0);
    await out.line(
      `total: ${count(report.segments.length, 'segment')}, ${count(report.records, 'record')}, ${count(report.entries, 'entry', 'entries')}, ${formatBytes(bytes)}; next sequence ${report.nextSequence}`,
    );
    return Exit.OK;
  },
};

function statusText(out: Output, status: SegmentReport['status']): string {
  const text = STATUS[status];
  if (status === 'ok' || status === 'empty') return out.style('green', text);
  return out.style(status === 'torn-tail' ? 'yellow' : 'red', text);
}
