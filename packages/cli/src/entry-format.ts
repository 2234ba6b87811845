import type { WalEntry } from '@wal/recovery';

/** How `dump` shows keys and values. */
export type ValueEncoding = 'utf8' | 'hex' | 'base64';
export const VALUE_ENCODINGS = ['utf8', 'hex', 'base64'] as const;

function render(bytes: Uint8Array, encoding: ValueEncoding): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString(encoding);
}

/**
 * `0 put "key" "value"`; strings are JSON-quoted in utf8, so control bytes
 * stay visible. In hex and base64 an empty key or value is `""`, so a line
 * always has its fields.
 */
export function textLine(entry: WalEntry, encoding: ValueEncoding): string {
  const show = (b: Uint8Array) =>
    encoding === 'utf8' || b.byteLength === 0
      ? JSON.stringify(render(b, encoding))
      : render(b, encoding);
  const value = entry.type === 'put' ? ` ${show(entry.value)}` : '';
  return `${entry.sequence} ${entry.type} ${show(entry.key)}${value}\n`;
}

/** One JSON object per line; deletes have no `value`. */
export function jsonLine(entry: WalEntry, encoding: ValueEncoding): string {
  const object: Record<string, unknown> = {
    sequence: entry.sequence,
    type: entry.type,
    key: render(entry.key, encoding),
  };
  if (entry.type === 'put') object.value = render(entry.value, encoding);
  return `${JSON.stringify(object)}\n`;
}
