import type { WalEntry } from '@wal/recovery';
import { choiceOption, type Values } from './args.js';
import { ENCODINGS, type Encoding } from './entry-format.js';
import { UsageError } from './errors.js';

/** Which entries a dump prints by key: all of them (null), or those `matches` accepts. */
export type KeyFilter = ((entry: WalEntry) => boolean) | null;

/** `--key K` / `--prefix P`, given in `--key-encoding` (utf8 by default). */
export function keyFilter(values: Values): KeyFilter {
  const encoding = choiceOption(
    'key-encoding',
    values['key-encoding'] as string | undefined,
    ENCODINGS,
    'utf8',
  );
  const key = values.key as string | undefined;
  const prefix = values.prefix as string | undefined;
  if (key !== undefined && prefix !== undefined) {
    throw new UsageError('--key and --prefix: expected one of them, found both');
  }
  if (key !== undefined) {
    const wanted = decode('key', key, encoding);
    return (entry) => Buffer.compare(entry.key, wanted) === 0;
  }
  if (prefix !== undefined) {
    const wanted = decode('prefix', prefix, encoding);
    return (entry) =>
      entry.key.byteLength >= wanted.byteLength &&
      Buffer.compare(entry.key.subarray(0, wanted.byteLength), wanted) === 0;
  }
  if (values['key-encoding'] !== undefined) {
    throw new UsageError('--key-encoding: expected --key or --prefix with it, found neither');
  }
  return null;
}

// Buffer.from silently drops what it cannot decode: check the text first.
function decode(name: string, text: string, encoding: Encoding): Buffer {
  const valid =
    encoding === 'utf8' ||
    (encoding === 'hex' && /^(?:[0-9a-fA-F]{2})*$/.test(text)) ||
    (encoding === 'base64' && /^[A-Za-z0-9+/]*={0,2}$/.test(text) && text.length % 4 === 0);
  if (!valid) {
    throw new UsageError(`--${name}: expected ${encoding}, found '${text}'`);
  }
  return Buffer.from(text, encoding);
}
