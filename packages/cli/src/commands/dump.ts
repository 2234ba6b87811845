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
  --values utf8|hex|base64  how keys and values are shown (default utf8;
                            utf8 is lossy for binary data, hex and base64 are exact)
  --mode MODE               recovery mode: ${MODES.join(', ')} (default tolerate-tail)
  -h, --help                this help`,
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
