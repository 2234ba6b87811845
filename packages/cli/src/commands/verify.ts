import path from 'node:path';
import { verify as verifyLog } from '@wal/recovery';
import { choiceOption, parseCommand } from '../args.js';
import { type Command, Exit } from '../command.js';
import { checkLogDir } from '../log-dir.js';
import { count, shellArg } from '../output.js';

export const verify: Command = {
  name: 'verify',
  summary: 'check every frame; exit 0 when clean, 1 when damage is found',
  help: `Usage: wal verify <dir> [--mode strict|tolerate-tail] [--json]

Reads every segment, checks every header, frame, CRC and sequence, and lists
each problem with file, offset, bytes and reason. Changes nothing.

Exit status: 0 when clean, 1 when damage or a gap is found, 2 on a usage error.

Options:
  --mode tolerate-tail  (default) a torn tail at the end of the last segment
                        is reported but is not a failure: opening the log
                        cuts it, as a crash leaves it
  --mode strict         a torn tail is a failure too
  --json                the full report as JSON
  -h, --help            this help`,
  async run(argv, out) {
    const { dir, values } = parseCommand('verify', argv, {
      mode: { type: 'string' },
      json: { type: 'boolean' },
    });
    const mode = choiceOption(
      'mode',
      values.mode as string | undefined,
      ['strict', 'tolerate-tail'],
      'tolerate-tail',
    );
    const resolved = checkLogDir('verify', dir);
    const report = await out.withProgress('verify: reading', verifyLog(resolved, { mode }));
    if (values.json) {
      await out.line(JSON.stringify(report, null, 2));
      return report.ok ? Exit.OK : Exit.FAILED;
    }
    for (const c of report.corruptions) {
      await out.line(
        `${out.style('red', 'damaged')} ${path.basename(c.file)} offset ${c.offset} bytes ${c.bytes} ${c.reason}: ${c.detail}`,
      );
    }
    for (const g of report.gaps) {
      await out.line(
        `${out.style('red', 'gap')} ${path.basename(g.file)} (${g.kind}) bytes ${g.bytes}: ${g.detail}`,
      );
    }
    const t = report.tornTail;
    if (t) {
      const label =
        mode === 'strict' ? out.style('red', 'torn tail') : out.style('yellow', 'torn tail');
      const note = mode === 'strict' ? '' : ' (cut when the log is next opened)';
      await out.line(
        `${label} ${path.basename(t.file)} offset ${t.offset} bytes ${t.bytes} ${t.reason}${note}`,
      );
    }
    const summary = `${count(report.segments.length, 'segment')}, ${count(report.records, 'record')}, ${count(report.entries, 'entry', 'entries')}`;
    await out.line(
      report.ok
        ? `${out.style('green', 'ok')}: ${summary}`
        : `${out.style('red', 'damaged')}: ${summary}; run wal repair ${shellArg(dir ?? resolved)} --dry-run to see the fix`,
    );
    return report.ok ? Exit.OK : Exit.FAILED;
  },
};
