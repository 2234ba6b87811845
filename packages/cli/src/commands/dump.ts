import type { RecoveryMode } from '@wal/recovery';
import { choiceOption, integerOption, type Values } from '../args.js';
import type { Command } from '../command.js';
import { ENCODINGS, type Encoding } from '../entry-format.js';
import { UsageError } from '../errors.js';
import { type KeyFilter, keyFilter } from '../key-filter.js';
import { resolveTarget } from '../target.js';
import { dumpEntries } from './dump-entries.js';
import { dumpFrames } from './dump-frames.js';
import { MODES } from './modes.js';

/** What to dump and how, from the command line. */
export interface DumpOptions {
  from: number;
  /** The last sequence to print (inclusive), if any. */
  to: number | undefined;
  limit: number | undefined;
  keys: KeyFilter;
  encoding: Encoding;
  json: boolean;
  mode: RecoveryMode;
}

export const dump: Command = {
  name: 'dump',
  summary: 'print entries, or records with --frames (streams; text or JSON Lines)',
  help: `Usage: wal dump <dir|file> [options]

Prints entries in sequence order, one per line, streaming: memory stays
flat whatever the log's size. A <file> is one segment file read alone: a
segment, a copy in quarantine/<n>/, or a wal_N.log.broken.

Options:
  --from N                  start at sequence N (default 0)
  --to N                    stop after sequence N
  --limit N                 print at most N entries (after --key, --prefix)
  --key K                   only entries whose key is K
  --prefix P                only entries whose key starts with P
  --key-encoding ENC        how K or P is given: utf8 (default), hex, base64
  --values utf8|hex|base64  how keys and values are shown (default utf8,
                            lossy for binary data; hex and base64 are exact)
  --json                    JSON Lines, one object per line (for jq)
  --frames                  each record as stored: file, offset, frame size,
                            type (batch, hole, mark, seal), synced, and a
                            batch's first sequence and op count, with its
                            entries beneath; damaged regions where they are
  --mode MODE               what to do at damage (default tolerate-tail):
                            tolerate-tail: pass a torn tail (noted), stop
                            at other damage with exit 1; strict: stop at
                            any damage, exit 1; point-in-time: stop at
                            damage, exit 0; skip-corrupted: skip, go on
  -h, --help                this help

The entries before damage are always printed; notes about a torn tail,
skipped damage, lost sequences or a stop go to stderr. --from skips sealed
segments below N unread, so damage inside them is not seen. --frames reads
past all damage and takes no --mode.

Exit status: 0 done, 1 damage stopped the dump (--frames: damage shown),
2 usage error, 3 failure (no log at the path, permission denied, I/O error).`,
  options: {
    from: { type: 'string' },
    to: { type: 'string' },
    limit: { type: 'string' },
    key: { type: 'string' },
    prefix: { type: 'string' },
    'key-encoding': { type: 'string' },
    values: { type: 'string' },
    frames: { type: 'boolean' },
    mode: { type: 'string' },
  },
  async run({ arg, values }, context) {
    const options = dumpOptions(values);
    const target = await resolveTarget(context, 'dump', arg, true);
    return values.frames
      ? dumpFrames(context, target, options)
      : dumpEntries(context, target, options);
  },
};

function dumpOptions(values: Values): DumpOptions {
  const from = integerOption('from', values.from as string | undefined, 0);
  const to = integerOption('to', values.to as string | undefined);
  if (to !== undefined && to < from) {
    throw new UsageError(`--to: expected a sequence at or above --from (${from}), found ${to}`);
  }
  if (values.frames && values.mode !== undefined) {
    throw new UsageError('--mode: --frames reads past all damage, so it takes no --mode');
  }
  return {
    from,
    to,
    limit: integerOption('limit', values.limit as string | undefined),
    keys: keyFilter(values),
    encoding: choiceOption('values', values.values as string | undefined, ENCODINGS, 'utf8'),
    json: values.json === true,
    mode: choiceOption('mode', values.mode as string | undefined, MODES, 'tolerate-tail'),
  };
}
