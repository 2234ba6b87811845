import path from 'node:path';
import type { DecodedRecord } from '@wal/codec';
import type { SegmentInfo } from '@wal/fs/segments';
import type { Damage, WalEntry } from '@wal/recovery';
import { type Encoding, entryObject, textLine } from './entry-format.js';

/** A record as `dump --frames` shows it: where it is, and (for a batch) the entries selected. */
export interface ShownFrame {
  info: SegmentInfo;
  offset: number;
  size: number;
  record: DecodedRecord;
  entries: WalEntry[];
}

// The fields after the type: a batch's grouping, a seal's totals, a hole's range.
function fields(record: DecodedRecord): Record<string, number> {
  switch (record.type) {
    case 'batch':
      return { firstSequence: record.firstSequence, ops: record.entries.length };
    case 'seal':
      return { nextSequence: record.nextSequence, records: record.records, bytes: record.bytes };
    case 'hole':
      return {
        firstSequence: record.firstSequence,
        nextSequence: record.nextSequence,
        incident: record.incident,
      };
    case 'mark':
      return { nextSequence: record.nextSequence };
  }
}

const SHORT: Record<string, string> = {
  firstSequence: 'first',
  nextSequence: 'next',
  ops: 'ops',
  records: 'records',
  bytes: 'bytes',
  incident: 'incident',
};

/**
 * `wal_00000000.log offset 48 size 46 batch first 0 ops 1 synced 48`, then
 * the batch's entries indented beneath it (like `ldb dump_wal --header`).
 */
export function frameText(shown: ShownFrame, encoding: Encoding): string {
  const { info, offset, size, record } = shown;
  const described = Object.entries(fields(record))
    .map(([name, value]) => `${SHORT[name]} ${value}`)
    .join(' ');
  const head = `${path.basename(info.file)} offset ${offset} size ${size} ${record.type} ${described} synced ${record.synced}\n`;
  return head + shown.entries.map((e) => `  ${textLine(e, encoding)}`).join('');
}

/** One JSON object per record: `{kind: 'frame', file, segment, offset, size, type, synced, …}`. */
export function frameJson(shown: ShownFrame, encoding: Encoding): string {
  const { info, offset, size, record } = shown;
  const object: Record<string, unknown> = {
    kind: 'frame',
    file: info.file,
    segment: info.segment,
    offset,
    size,
    type: record.type,
    synced: record.synced,
    ...fields(record),
  };
  if (record.type === 'batch') object.entries = shown.entries.map((e) => entryObject(e, encoding));
  return `${JSON.stringify(object)}\n`;
}

/** A damaged region as a JSON line: `{kind: 'damage', …Damage, torn}`. */
export function damageJson(damage: Damage, torn: boolean): string {
  return `${JSON.stringify({ kind: 'damage', ...damage, torn })}\n`;
}
