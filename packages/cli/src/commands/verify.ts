import path from 'node:path';
import { type Damage, type HoleFound, type VerifyReport, verify as verifyLog } from '@wal/recovery';
import { choiceOption } from '../args.js';
import { type Command, type Context, Exit } from '../command.js';
import { damageText } from '../damage-text.js';
import { type FileReport, verifyFile } from '../file-report.js';
import { count, lostText, type Output } from '../output.js';
import { Progress } from '../progress.js';
import { repairArg, resolveTarget, type Target } from '../target.js';

type Mode = 'strict' | 'tolerate-tail';

export const verify: Command = {
  name: 'verify',
  summary: 'check every frame; exit 0 when clean, 1 when damage is found',
  help: `Usage: wal verify <dir|file> [--mode strict|tolerate-tail] [--json]

Reads every segment, checks every header, seal, frame, CRC and sequence,
and lists each problem with file, offset, bytes and reason, and each run of
sequences an earlier repair recorded as lost. Changes nothing, takes no
lock. A <file> is one segment file checked alone: a segment, a copy in
quarantine/<n>/, or a wal_N.log.broken.

Options:
  --mode tolerate-tail  (default) a torn tail at the end of the last segment
                        is reported but is not a failure: opening the log
                        cuts it, as a crash leaves it
  --mode strict         a torn tail is a failure too
  --json                the full report as JSON
  -h, --help            this help

Exit status: 0 clean, 1 damage found, 2 usage error, 3 failure (no log at
the path, permission denied, an I/O error).`,
  options: { mode: { type: 'string' } },
  async run({ arg, values }, context) {
    const modes = ['strict', 'tolerate-tail'] as const;
    const mode = choiceOption('mode', values.mode as string | undefined, modes, 'tolerate-tail');
    const target = await resolveTarget(context, 'verify', arg, true);
    const report = await check(context, target, mode);
    const ok = report.ok ? Exit.OK : Exit.DAMAGED;
    if (values.json) {
      await context.out.line(JSON.stringify(report, null, 2));
      return ok;
    }
    await printProblems(context.out, report, target, mode);
    await context.out.line(summary(context.out, report, target));
    return ok;
  },
};

async function check(
  context: Context,
  target: Target,
  mode: Mode,
): Promise<VerifyReport | FileReport> {
  const progress = await Progress.start(context.fs, context.out, 'verify', target);
  try {
    return target.kind === 'dir'
      ? await verifyLog(target.path, { fs: progress.fs, mode })
      : await verifyFile(progress.fs, target, mode);
  } finally {
    progress.done();
  }
}

interface Found {
  damage: Damage[];
  tornTail: Damage | null;
  holes: HoleFound[];
}

async function printProblems(out: Output, found: Found, target: Target, mode: Mode): Promise<void> {
  for (const d of found.damage) await out.line(damageText(out, d, false));
  const t = found.tornTail;
  if (t) {
    const strict = mode === 'strict';
    const note = strict ? '' : ' (cut when the log is next opened)';
    await out.line(`${damageText(out, t, true, strict ? 'red' : 'yellow')}${note}`);
  }
  for (const h of found.holes) {
    const where = `${path.basename(h.file)} offset ${h.offset}`;
    await out.line(`hole ${where}: ${lostText(h, target.kind === 'dir' ? target.arg : null)}`);
  }
}

function summary(out: Output, report: FileReport | VerifyReport, target: Target): string {
  const what =
    'segments' in report
      ? `${count(report.segments.length, 'segment')}, ${count(report.records, 'record')}, ${count(report.entries, 'entry', 'entries')}`
      : fileSummary(report);
  if (report.ok) return `${out.style('green', 'ok')}: ${what}`;
  const dir = repairArg(target);
  const fix = dir === null ? '' : `; run wal repair ${dir} --dry-run to see the fix`;
  return `${out.style('red', 'damaged')}: ${what}${fix}`;
}

function fileSummary(r: FileReport): string {
  const range =
    r.firstSequence !== null && r.lastSequence !== null
      ? `, sequences ${r.firstSequence}-${r.lastSequence}`
      : '';
  return `${path.basename(r.file)}, ${r.sealed ? 'sealed' : 'not sealed'}, ${count(r.entries, 'entry', 'entries')}${range}`;
}
