import type { WalEntry } from '@wal/recovery';

/** How keys and values are given (`--key-encoding`) and shown (`--values`). */
export const ENCODINGS = ['utf8', 'hex', 'base64'] as const;
export type Encoding = (typeof ENCODINGS)[number];

function render(bytes: Uint8Array, encoding: Encoding): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString(encoding);
}

/**
 * `0 put "key" "value"`; strings are JSON-quoted in utf8, so control bytes
 * stay visible. In hex and base64 an empty key or value is `""`, so a line
 * always has its fields.
 */
export function textLine(entry: WalEntry, encoding: Encoding): string {
  const show = (b: Uint8Array) =>
    encoding === 'utf8' || b.byteLength === 0
      ? JSON.stringify(render(b, encoding))
      : render(b, encoding);
  const value = entry.type === 'put' ? ` ${show(entry.value)}` : '';
  return `${entry.sequence} ${entry.type} ${show(entry.key)}${value}\n`;
}

/** An entry as a JSON value: `{sequence, type, key, value}`; a delete has no `value`. */
export function entryObject(entry: WalEntry, encoding: Encoding): Record<string, unknown> {
  const object: Record<string, unknown> = {
    sequence: entry.sequence,
    type: entry.type,
    key: render(entry.key, encoding),
  };
  if (entry.type === 'put') object.value = render(entry.value, encoding);
  return object;
}

/** One JSON object per line (JSON Lines). */
export function jsonLine(entry: WalEntry, encoding: Encoding): string {
  return `${JSON.stringify(entryObject(entry, encoding))}\n`;
}
