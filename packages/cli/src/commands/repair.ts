import path from 'node:path';
import { type RepairAction, type RepairResult, repair as repairLog } from '@wal/recovery';
import { integerOption } from '../args.js';
import { type Command, Exit } from '../command.js';
import { count, formatSequences } from '../output.js';
import { Progress } from '../progress.js';
import { resolveTarget } from '../target.js';

export const repair: Command = {
  name: 'repair',
  summary: 'mend damage, keep every intact record, never rewind a sequence',
  help: `Usage: wal repair <dir> [--dry-run] [--floor <n>] [--json]

Mends a damaged log without discarding anything intact:
  - a damaged segment is rebuilt from its intact records, with a hole
    record for each run of sequences the damage took;
  - a missing segment is re-created holding only a hole;
  - a file that is not part of the log (another log's) is moved out.
Every repair is one incident: quarantine/<n>/ gets a copy of each file it
changes or removes, and manifest.json, before anything changes. Prints the
incident folder, each action, the sequences recorded as lost, and the
sequence the writer continues from: above every sequence the log ever
held. Afterwards wal verify is clean.
When nothing reads in the last segment (its header and first frame
rotted), nothing tells how far its sequences went: repair refuses (exit 1)
and changes nothing, unless --floor says where the log continues.
Takes the writer lock: stop the writer first (exit 3 while it runs).

Options:
  --dry-run   say what would be done, and change nothing (takes no lock)
  --floor <n> the sequence the repaired log continues from at least: above
              every sequence the log ever issued (from a checkpoint or a
              replica); only ever raises it, the sequences up to it are
              recorded as lost
  --json      the result as JSON
  -h, --help  this help

Exit status: 0 repaired (or nothing to do, or a dry run), 1 refused:
nothing reads in the last segment and no --floor, 2 usage error,
3 failure (no log at the path, permission denied, an I/O error, the
writer holds the lock).`,
  options: { 'dry-run': { type: 'boolean' }, floor: { type: 'string' } },
  async run({ arg, values }, context) {
    const { out } = context;
    const dryRun = values['dry-run'] === true;
    const floor = integerOption('floor', values.floor as string | undefined);
    const target = await resolveTarget(context, 'repair', arg, false);
    const progress = await Progress.start(context.fs, out, 'repair', target);
    const result = await repairLog(target.path, { fs: progress.fs, dryRun, floor }).finally(() =>
      progress.done(),
    );
    if (values.json) {
      await out.line(JSON.stringify(result, null, 2));
      return Exit.OK;
    }
    for (const line of resultLines(result)) await out.line(line);
    return Exit.OK;
  },
};

/** What repair did (or would do), one line each: incident, actions, lost sequences, next sequence. */
export function resultLines(result: RepairResult): string[] {
  const { dir, dryRun, incident, incidentDir, actions } = result;
  const lines: string[] = [];
  if (incident === null || incidentDir === null) {
    lines.push('nothing to repair: the log is clean');
  } else {
    const folder = path.relative(dir, incidentDir);
    lines.push(
      `incident ${incident}: ${folder} ${dryRun ? 'would keep' : 'keeps'} a copy of each file changed or removed, and manifest.json`,
    );
    for (const a of actions) lines.push(actionLine(a, dir, dryRun));
    lines.push(lostLine(result));
  }
  const last = result.lastSequence === null ? 'no entries' : `last sequence ${result.lastSequence}`;
  lines.push(
    `${dryRun ? 'after repair' : 'now'}: ${last}; the writer continues at sequence ${result.nextSequence}`,
  );
  if (result.fromFloor) {
    lines.push(
      `from --floor: nothing read in the last segment, so it may have held sequences from ${result.nextSequence} on; replay refuses a checkpoint at or above ${result.nextSequence} (WAL_SEQUENCE_REWOUND)`,
    );
  }
  if (dryRun && actions.length > 0) lines.push('dry run: nothing was changed');
  return lines;
}

const VERBS = {
  rebuild: ['rebuilt', 'would rebuild'],
  remove: ['moved out', 'would move out'],
  create: ['created', 'would create'],
} as const;

function actionLine(a: RepairAction, dir: string, dryRun: boolean): string {
  const verb = VERBS[a.action][dryRun ? 1 : 0];
  const [first, ...more] = a.damage;
  const why = first
    ? `${first.reason} at offset ${first.offset} (${count(first.bytes, 'byte')})${more.length > 0 ? ` and ${more.length} more` : ''}`
    : a.action === 'create'
      ? 'a segment holding only a hole'
      : 'no damage';
  const lost = a.lost.length > 0 ? `lost ${sequences(a.lost)}` : 'no sequence lost';
  const kept = a.keptIn ? `; as it was: ${path.relative(dir, a.keptIn)}` : '';
  return `${verb} ${path.basename(a.file)}: ${why}; ${lost}${kept}`;
}

function lostLine(result: RepairResult): string {
  const n = result.lost.reduce((sum, r) => sum + r.nextSequence - r.firstSequence, 0);
  if (n === 0) return 'lost: no sequence';
  const holes = count(result.lost.length, 'hole');
  const recorded = result.dryRun ? 'would be recorded as' : 'recorded as';
  return `lost: ${count(n, 'sequence')} (${ranges(result.lost)}), ${recorded} ${holes} in the log`;
}

const ranges = (lost: RepairAction['lost']) =>
  lost.map((r) => formatSequences(r.firstSequence, r.nextSequence)).join(', ');

// "sequence 10", "sequences 17-24", "sequences 10, 17-24".
function sequences(lost: RepairAction['lost']): string {
  const one = lost.length === 1 && lost[0]?.nextSequence === (lost[0]?.firstSequence ?? 0) + 1;
  return `${one ? 'sequence' : 'sequences'} ${ranges(lost)}`;
}
