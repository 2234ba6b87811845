import { scanLog } from '@wal/recovery';
import { choiceOption, integerOption, parseCommand } from '../args.js';
import { type Command, Exit } from '../command.js';
import { jsonLine, textLine, VALUE_ENCODINGS } from '../entry-format.js';
import { checkLogDir } from '../log-dir.js';
import { count } from '../output.js';
import { MODES } from './modes.js';

const FLUSH_AT = 64 * 1024;

export const dump: Command = {
  name: 'dump',
  summary: 'print entries, one per line (streams; text or JSON Lines)',
  help: `Usage: wal dump <dir> [options]

Prints every entry in sequence order, one per line, streaming: memory stays
flat whatever the log's size.

Options:
  --from N                  start at sequence N (default 0)
  --limit N                 print at most N entries
  --format text|json        text (default): "<seq> <type> <key> [value]";
                            json: JSON Lines, one object per entry (for jq)
  --values utf8|hex|base64  how keys and values are shown (default utf8,
                            lossy for binary data; hex and base64 are exact)
  --mode MODE               what to do at damage (default tolerate-tail):
                            tolerate-tail: pass a torn tail (noted), stop
                            at other damage with exit 1; strict: stop at
                            any damage, exit 1; point-in-time: stop at
                            damage, exit 0; skip-corrupted: skip, go on
  -h, --help                this help

The entries before damage are always printed; notes about a torn tail,
skipped damage or a stop go to stderr. --from skips whole segments below N
unread, so damage inside them is not seen.

Exit status: 0 when done, 1 when damage stops the dump, 2 on a usage error.`,
  async run(argv, out) {
    const { dir, values } = parseCommand('dump', argv, {
      from: { type: 'string' },
      limit: { type: 'string' },
      format: { type: 'string' },
      values: { type: 'string' },
      mode: { type: 'string' },
    });
    const from = integerOption('from', values.from as string | undefined, 0);
    const limit = integerOption(
      'limit',
      values.limit as string | undefined,
      Number.MAX_SAFE_INTEGER,
    );
    const format = choiceOption(
      'format',
      values.format as string | undefined,
      ['text', 'json'],
      'text',
    );
    const encoding = choiceOption(
      'values',
      values.values as string | undefined,
      VALUE_ENCODINGS,
      'utf8',
    );
    const mode = choiceOption('mode', values.mode as string | undefined, MODES, 'tolerate-tail');
    const resolved = checkLogDir('dump', dir);

    const line = format === 'json' ? jsonLine : textLine;
    const scan = scanLog(resolved, { mode, fromSequence: from });
    let printed = 0;
    let chunk = '';
    try {
      if (limit > 0) {
        for await (const entry of scan) {
          chunk += line(entry, encoding);
          if (chunk.length >= FLUSH_AT) {
            await out.write(chunk);
            chunk = '';
            out.progress(`dump: ${printed} entries`);
          }
          if (++printed >= limit) break;
        }
      }
    } finally {
      // At damage the scan throws: the entries before it are still printed.
      await out.write(chunk);
    }
    const { tornTail, corruptions, gaps, stoppedAt } = scan.stats;
    // skip-corrupted lists the torn tail among the corruptions too.
    const damaged = corruptions.filter(
      (c) => !(tornTail && c.file === tornTail.file && c.offset === tornTail.offset),
    );
    if (stoppedAt) {
      out.error(
        `note: stopped at ${stoppedAt.reason} in ${stoppedAt.file} at offset ${stoppedAt.offset}; later entries not shown (see wal verify)`,
      );
    } else if (damaged.length + gaps.length > 0) {
      out.error(
        `note: skipped ${count(damaged.length, 'damaged region')} and ${count(gaps.length, 'gap')} (see wal verify)`,
      );
    }
    if (tornTail) {
      out.error(
        `note: torn tail in ${tornTail.file} at offset ${tornTail.offset} (${count(tornTail.bytes, 'byte')}) not shown`,
      );
    }
    return Exit.OK;
  },
};
