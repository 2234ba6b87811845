// docs/format.md must match the codec byte for byte: its hex dumps, its
// constants table, the offsets in its layout tables and its hand-checked CRC
// are all parsed and compared here. The README's error code table too.
import { readFileSync } from 'node:fs';
import zlib from 'node:zlib';
import * as codec from '@wal/codec';
import {
  type DamageReason,
  DEFAULT_MAX_RECORD_BYTES,
  decodeAll,
  decodeSegmentHeader,
  ErrorCode,
  encodeSegmentHeader,
  FrameDecoder,
  recordSize,
} from '@wal/codec';
import { describe, expect, test } from 'vitest';
import * as constants from '../src/constants.js';
import {
  concat,
  del,
  encodeSegment,
  expectedFrames,
  type Item,
  normalize,
  put,
} from './helpers.js';

const doc = readFileSync(new URL('../../../docs/format.md', import.meta.url), 'utf8');
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

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
      if (bar < 0) {
        throw new Error(`${name}: expected "offset bytes | note", found ${JSON.stringify(line)}`);
      }
      const [offset, ...pairs] = line.slice(0, bar).trim().split(/\s+/);
      expect({ line, offset: Number.parseInt(offset as string, 16) }).toEqual({
        line,
        offset: bytes.length,
      });
      for (const pair of pairs) {
        if (!/^[0-9a-f]{2}$/.test(pair)) {
          throw new Error(`${name}: bad byte ${pair} in ${JSON.stringify(line)}`);
        }
        bytes.push(Number.parseInt(pair, 16));
      }
    }
    blocks.set(name as string, Uint8Array.from(bytes));
  }
  return blocks;
}

/** The text of the `## <title>` section, up to the next `## ` heading. */
function section(markdown: string, title: string): string {
  const start = markdown.indexOf(`\n## ${title}\n`);
  expect(start).toBeGreaterThan(0);
  const end = markdown.indexOf('\n## ', start + 1);
  return markdown.slice(start, end < 0 ? undefined : end);
}

/** The cells of every Markdown table row. */
function tableRows(markdown: string): string[][] {
  return markdown
    .split('\n')
    .filter((line) => line.startsWith('|') && !line.startsWith('|---'))
    .map((line) =>
      line
        .slice(1, -1)
        .split('|')
        .map((cell) => cell.trim()),
    );
}

// The worked example, in its words: two groups, a mark at close, then the seal.
const SALT_0 = 0xa5c3e1f0;
const SALT_1 = 0x0b1e55ed;
const LOG_ID = '2f5c9e0a6b7d4183';
const items: Item[] = [
  { type: 'batch', ops: [put('a', '1')] },
  { type: 'batch', ops: [put('b', '')] },
  { type: 'batch', ops: [del('a')] },
  { type: 'batch', ops: [put('c', '3'), del('b')] },
  { type: 'mark' },
  { type: 'seal' },
];
// Frames 1 and 2 before any sync; 3 and 4 after the first group's sync;
// the mark after the final sync; the seal after the mark's sync.
const secondGroup = 48 + 16 + recordSize([put('a', '1')]) + recordSize([put('b', '')]);
const segment0 = encodeSegment(items, {
  salt: SALT_0,
  firstSequence: 0,
  synced: (offset, i) => (i < 2 ? 48 : i < 4 ? secondGroup : offset),
});
const header0 = {
  segment: 0,
  firstSequence: 0,
  salt: SALT_0,
  maxRecordBytes: DEFAULT_MAX_RECORD_BYTES,
  logId: LOG_ID,
};
const header1 = { ...header0, segment: 1, firstSequence: 5, salt: SALT_1 };

describe('docs/format.md', () => {
  const blocks = hexBlocks(doc);

  test('has exactly the two worked hex dumps', () => {
    expect([...blocks.keys()]).toEqual(['segment-0', 'segment-1-header']);
  });

  test('segment 0 is byte for byte what the encoder writes', () => {
    const written = concat(encodeSegmentHeader(header0), segment0.bytes);
    expect(Buffer.from(blocks.get('segment-0') as Uint8Array).toString('hex')).toBe(
      Buffer.from(written).toString('hex'),
    );
    expect(doc).toContain(
      `The file is ${written.length} (0x${written.length.toString(16)}) bytes.`,
    );
    expect(doc).toContain(`synced = ${secondGroup}`);
  });

  test('segment 0 decodes back to what it describes, sealed at its own length', () => {
    const bytes = blocks.get('segment-0') as Uint8Array;
    expect(decodeSegmentHeader(bytes)).toEqual(header0);
    const decoder = new FrameDecoder({ salt: SALT_0, firstSequence: 0, offset: 48 });
    decoder.push(bytes.subarray(48));
    decoder.end();
    expect(normalize([...decoder])).toEqual(expectedFrames(segment0));
    expect([decoder.sealed, decoder.nextSequence, decoder.offset]).toEqual([true, 5, bytes.length]);
    // Every frame's synced lies in [48, its offset]: the writer's order.
    for (const f of segment0.frames) {
      expect(f.expected.record.synced).toBeGreaterThanOrEqual(48);
      expect(f.expected.record.synced).toBeLessThanOrEqual(f.offset);
    }
    expect(segment0.frames.at(-1)?.expected.record).toMatchObject({
      type: 'seal',
      nextSequence: 5,
      records: 4,
      bytes: bytes.length,
    });
  });

  test('the segment 1 header is what the encoder writes, and continues the chain', () => {
    const bytes = blocks.get('segment-1-header') as Uint8Array;
    expect(bytes).toEqual(encodeSegmentHeader(header1));
    const decoded = decodeSegmentHeader(bytes);
    const seal = segment0.frames.at(-1)?.expected.record;
    expect(decoded).toMatchObject({ segment: 1, firstSequence: seal?.nextSequence, logId: LOG_ID });
    expect(decoded).not.toMatchObject({ salt: SALT_0 });
    // Segment 0's frames do not validate under segment 1's salt.
    expect(
      decodeAll(segment0.bytes, { salt: SALT_1, firstSequence: 0 }).map((r) => r.kind),
    ).toEqual(['damage']);
  });

  test('the constants table lists every export of constants.ts, with its value', () => {
    const rows = [...section(doc, 'Constants').matchAll(/^\| `([A-Za-z0-9_.]+)` \| ([^|]+?) \|/gm)];
    const documented = new Map(rows.map(([, name, value]) => [name as string, value as string]));
    expect(documented.size).toBe(rows.length);
    for (const [name, value] of documented) {
      const actual = (name.split('.') as string[]).reduce<unknown>(
        (o, key) => (o as Record<string, unknown>)?.[key],
        codec,
      );
      const expected = /^([0-9a-f]{2} )+[0-9a-f]{2}$/.test(value)
        ? Uint8Array.from(value.split(' '), (b) => Number.parseInt(b, 16))
        : Number(value);
      expect({ name, value: actual }).toEqual({ name, value: expected });
    }
    const exported = Object.entries(constants).flatMap(([name, value]) =>
      typeof value === 'object' && !(value instanceof Uint8Array)
        ? Object.keys(value).map((key) => `${name}.${key}`)
        : [name],
    );
    expect([...documented.keys()].sort()).toEqual(exported.sort());
  });

  test('every field offset in the layout tables is the constant it names', () => {
    const named = new Map<string, number[]>();
    for (const cells of tableRows(doc)) {
      const offset = cells[0] as string;
      if (!/^\d+$/.test(offset)) continue;
      for (const [, name] of cells
        .slice(1)
        .join(' ')
        .matchAll(/`([A-Z_]+_OFFSET)`/g)) {
        named.set(name as string, [...(named.get(name as string) ?? []), Number(offset)]);
      }
    }
    const offsets = Object.entries(constants).filter(([name]) => name.endsWith('_OFFSET'));
    expect([...named.keys()].sort()).toEqual(offsets.map(([name]) => name).sort());
    for (const [name, value] of offsets) {
      for (const offset of named.get(name) ?? []) {
        expect({ name, offset }).toEqual({ name, offset: value });
      }
    }
  });

  test('the hand-checked CRC is right: salt, then frame 1 without its CRC bytes', () => {
    const match = doc.match(/zlib\.crc32\(Buffer\.from\(([^)]*), 'hex'\)\)\n\/\/ 0x([0-9a-f]{8})/);
    const input = Buffer.from((match?.[1] ?? '').replace(/[' +]/g, ''), 'hex');
    const frame = Buffer.from(segment0.bytes.subarray(0, segment0.frames[0]?.size));
    const salt = Buffer.alloc(4);
    salt.writeUInt32LE(SALT_0);
    expect(input).toEqual(Buffer.concat([salt, frame.subarray(0, 4), frame.subarray(8)]));
    const crc = Number.parseInt(match?.[2] ?? '', 16);
    expect(zlib.crc32(input)).toBe(crc);
    expect(frame.readUInt32LE(4)).toBe(crc);
  });

  test('names every damage reason', () => {
    const reasons = [
      'truncated',
      'checksum-mismatch',
      'bad-length',
      'unknown-type',
      'zero-fill',
      'bad-header',
      'bad-sequence',
      'bad-seal',
      'missing-segment',
    ] as const satisfies readonly DamageReason[];
    // Does not typecheck once DamageReason has a member this list lacks.
    const complete: Exclude<DamageReason, (typeof reasons)[number]> extends never ? true : false =
      true;
    expect(complete).toBe(true);
    for (const reason of reasons) expect(doc).toContain(`\`${reason}\``);
  });

  test('states the tail rule once', () => {
    expect(doc.match(/^#+ The tail rule$/gm)).toHaveLength(1);
    expect(section(doc, 'The synced watermark and the tail rule')).toContain(
      '**write order, not byte content**',
    );
  });
});

describe('packages/codec/README.md', () => {
  test('its error code table lists every code', () => {
    const listed = tableRows(readme)
      .map((cells) => /^`(WAL_[A-Z_]+)`$/.exec(cells[0] as string)?.[1])
      .filter((code) => code !== undefined);
    expect(listed.sort()).toEqual(Object.values(ErrorCode).sort());
  });
});
