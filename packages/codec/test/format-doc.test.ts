// docs/format.md must match the encoder byte for byte: its hex dumps, its
// constants table and its hand-checked CRC are all parsed and compared here.
import { readFileSync } from 'node:fs';
import zlib from 'node:zlib';
import * as codec from '@wal/codec';
import { decodeAll, decodeSegmentHeader, encodeRecord, encodeSegmentHeader } from '@wal/codec';
import { describe, expect, test } from 'vitest';
import { concat, del, encodeBatches, expectedRecords, normalize, put } from './helpers.js';

const doc = readFileSync(new URL('../../../docs/format.md', import.meta.url), 'utf8');

/**
 * The ```wal-hex <name> blocks. Each line is `<hex offset>  <hex bytes> | <note>`;
 * lines starting with `#` are headings. The offset column is checked too.
 */
function hexBlocks(markdown: string): Map<string, Uint8Array> {
  const blocks = new Map<string, Uint8Array>();
  for (const [, name, body] of markdown.matchAll(/^```wal-hex (\S+)\n([\s\S]*?)^```$/gm)) {
    const bytes: number[] = [];
    for (const line of (body as string).split('\n')) {
      if (line.trim() === '' || line.startsWith('#')) continue;
      const bar = line.indexOf('|');
      if (bar < 0)
        throw new Error(`${name}: expected "offset bytes | note", found ${JSON.stringify(line)}`);
      const [offset, ...pairs] = line.slice(0, bar).trim().split(/\s+/);
      expect({ line, offset: Number.parseInt(offset as string, 16) }).toEqual({
        line,
        offset: bytes.length,
      });
      for (const pair of pairs) {
        if (!/^[0-9a-f]{2}$/.test(pair))
          throw new Error(`${name}: bad byte ${pair} in ${JSON.stringify(line)}`);
        bytes.push(Number.parseInt(pair, 16));
      }
    }
    blocks.set(name as string, Uint8Array.from(bytes));
  }
  return blocks;
}

// The records the worked example describes, in its words.
const example = [
  { firstSequence: 0, ops: [put('a', '1')] },
  { firstSequence: 1, ops: [put('b', '')] },
  { firstSequence: 2, ops: [del('a')] },
  { firstSequence: 3, ops: [put('c', '3'), del('b')] },
];

describe('docs/format.md', () => {
  const blocks = hexBlocks(doc);

  test('has exactly the two worked hex dumps', () => {
    expect([...blocks.keys()]).toEqual(['segment-0', 'segment-1-header']);
  });

  test('segment 0 is byte for byte what the encoder writes', () => {
    const written = concat(
      encodeSegmentHeader({ segmentNumber: 0, firstSequence: 0 }),
      ...example.map((r) => encodeRecord(r.firstSequence, r.ops)),
    );
    expect(Buffer.from(blocks.get('segment-0') as Uint8Array).toString('hex')).toBe(
      Buffer.from(written).toString('hex'),
    );
    expect(doc).toContain(
      `The file is ${written.length} (0x${written.length.toString(16)}) bytes.`,
    );
  });

  test('segment 0 decodes back to the records it describes', () => {
    const bytes = blocks.get('segment-0') as Uint8Array;
    expect(decodeSegmentHeader(bytes)).toEqual({ segmentNumber: 0, firstSequence: 0 });
    const results = normalize(decodeAll(bytes.subarray(32), { offset: 32 }));
    expect(results).toEqual(expectedRecords(encodeBatches(example), 32));
  });

  test('the segment 1 header is what the encoder writes', () => {
    const written = encodeSegmentHeader({ segmentNumber: 1, firstSequence: 5 });
    expect(blocks.get('segment-1-header')).toEqual(written);
  });

  test('the constants table matches the code', () => {
    const rows = [...doc.matchAll(/^\| `([A-Za-z_.]+)` \| ([^|]+?) \|/gm)];
    const documented = new Map(rows.map(([, name, value]) => [name as string, value as string]));
    for (const [name, value] of documented) {
      const actual = (name.split('.') as string[]).reduce<unknown>(
        (o, key) => (o as Record<string, unknown>)[key],
        codec,
      );
      const expected = /^([0-9a-f]{2} )+[0-9a-f]{2}$/.test(value)
        ? Uint8Array.from(value.split(' '), (b) => Number.parseInt(b, 16))
        : Number(value);
      expect({ name, value: actual }).toEqual({ name, value: expected });
    }
    expect([...documented.keys()]).toEqual(
      expect.arrayContaining([
        'SEGMENT_MAGIC',
        'FORMAT_VERSION',
        'SEGMENT_HEADER_SIZE',
        'FRAME_HEADER_SIZE',
        'RECORD_PREFIX_SIZE',
        'OP_HEADER_SIZE',
        'VALUE_LENGTH_SIZE',
        'MIN_RECORD_BYTES',
        'DEFAULT_MAX_RECORD_BYTES',
        'MAX_RECORD_BYTES_LIMIT',
        'MAX_SEQUENCE',
        'RecordType.Batch',
        'OpKind.Put',
        'OpKind.Delete',
        'ZLIB_CRC_MIN_BYTES',
        'SECTOR_SIZE',
      ]),
    );
  });

  test('the hand-checked CRC is right, over frame 1 without its CRC bytes', () => {
    const match = doc.match(/zlib\.crc32\(Buffer\.from\(([^)]*), 'hex'\)\)\n\/\/ 0x([0-9a-f]{8})/);
    const input = Buffer.from((match?.[1] ?? '').replace(/[' +]/g, ''), 'hex');
    const frame = Buffer.from(encodeRecord(0, [put('a', '1')]));
    expect(input).toEqual(Buffer.concat([frame.subarray(0, 4), frame.subarray(8)]));
    expect(zlib.crc32(input)).toBe(Number.parseInt(match?.[2] ?? '', 16));
    expect(frame.readUInt32LE(4)).toBe(Number.parseInt(match?.[2] ?? '', 16));
  });

  test('names every damage reason', () => {
    for (const reason of [
      'truncated',
      'checksum-mismatch',
      'bad-length',
      'unknown-type',
      'zero-fill',
      'bad-header',
      'bad-sequence',
    ]) {
      expect(doc).toContain(`\`${reason}\``);
    }
  });
});
