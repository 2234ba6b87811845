import path from 'node:path';
import { repair as repairLog } from '@wal/recovery';
import { parseCommand } from '../args.js';
import { type Command, Exit } from '../command.js';
import { checkLogDir } from '../log-dir.js';

export const repair: Command = {
  name: 'repair',
  summary: 'cut damage so the log is a valid prefix; keeps every cut byte',
  help: `Usage: wal repair <dir> [--dry-run] [--json]

Makes the log a valid prefix of itself and deletes nothing:
  - a torn tail is cut; its bytes are kept in wal_NNNNNNNN.log.broken;
  - at other damage or a gap, the segment is copied whole into quarantine/
    and cut at the damage, and every later segment is moved to quarantine/.
Afterwards wal verify is clean and the writer continues from the sequence
printed. New writes may reuse sequences held in quarantine/: salvage them
first with wal dump <dir>/quarantine --mode skip-corrupted.
Takes the writer lock: stop the writer first (exit 1 while it runs).

Options:
  --dry-run   say what would be cut or moved, and change nothing
  --json      the result as JSON
  -h, --help  this help`,
  async run(argv, out) {
    const { dir, values } = parseCommand('repair', argv, {
      'dry-run': { type: 'boolean' },
      json: { type: 'boolean' },
    });
    const dryRun = values['dry-run'] === true;
    const resolved = checkLogDir('repair', dir);
    const result = await out.withProgress('repair: reading', repairLog(resolved, { dryRun }));
    if (values.json) {
      await out.line(JSON.stringify(result, null, 2));
      return Exit.OK;
    }
    const verb = dryRun ? 'would' : 'did';
    for (const a of result.actions) {
      const where = path.relative(resolved, a.keptIn);
      const what =
        a.action === 'cut'
          ? `cut ${path.basename(a.file)} at offset ${a.offset} (${a.bytes} bytes, ${a.cause}: ${a.reason})`
          : `move ${path.basename(a.file)} out of the log (${a.bytes} bytes, ${a.cause}: ${a.reason})`;
      await out.line(`${verb} ${what}; bytes kept in ${where}`);
    }
    if (result.actions.length === 0) await out.line('nothing to repair: the log is clean');
    const last =
      result.lastSequence === null ? 'no entries' : `last sequence ${result.lastSequence}`;
    await out.line(
      `${dryRun ? 'after repair' : 'now'}: ${last}; the writer continues at sequence ${result.nextSequence}`,
    );
    if (dryRun && result.actions.length > 0) await out.line('dry run: nothing was changed');
    return Exit.OK;
  },
};
