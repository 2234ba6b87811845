// wal dump: text and JSON Lines, exact bytes through hex and base64, the
// sequence and key filters, one segment file alone, and what it prints
// around damage in each mode.
import fs from 'node:fs';
import path from 'node:path';
import { Exit } from '@wal/cli';
import { SEGMENT_HEADER_SIZE } from '@wal/codec';
import { describe, expect, test } from 'vitest';
import {
  cleanLog,
  flipFrame,
  removeSegment,
  segment,
  sequencesIn,
  setAsideTail,
  tearLastBatch,
  type Written,
} from './support/logs.js';
import { lines, literal, run } from './support/run.js';

interface JsonEntry {
  sequence: number;
  type: 'put' | 'delete';
  key: string;
  value?: string;
}

/** Dumps as JSON Lines, checking every line parses alone. */
async function dumpJson(
  argv: string[],
): Promise<{ code: number; entries: JsonEntry[]; stderr: string }> {
  const r = await run(['dump', ...argv, '--json']);
  expect(r.stdout === '' || r.stdout.endsWith('\n')).toBe(true);
  const entries = lines(r.stdout).map((l) => JSON.parse(l) as JsonEntry);
  return { code: r.code, entries, stderr: r.stderr };
}

const sequences = (entries: { sequence: number }[]) => entries.map((e) => e.sequence);
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe('wal dump', () => {
  test('text: one line per entry, strings JSON-quoted', async () => {
    const { dir } = await cleanLog();
    const r = await run(['dump', dir]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const out = lines(r.stdout);
    expect(out).toHaveLength(44);
    expect(out[0]).toBe('0 put "key-0" "value-0"');
    expect(out[40]).toBe('40 delete "key-3"');
    expect(out[41]).toMatch(/^41 put "bin\\n\\"é" "\\u0000\\u0001/);
    expect(out[43]).toBe('43 put "" ""');
  });

  test('text with hex or base64 shows an empty key or value as ""', async () => {
    const { dir } = await cleanLog(1);
    const hex = lines((await run(['dump', dir, '--values', 'hex'])).stdout);
    expect(hex[0]).toBe('0 put 6b65792d30 76616c75652d30');
    expect(hex.at(-1)).toBe('4 put "" ""');
    const b64 = lines((await run(['dump', dir, '--values', 'base64'])).stdout);
    expect(b64[1]).toBe('1 delete a2V5LTM=');
    expect(b64.at(-1)).toBe('4 put "" ""');
  });

  test.each(['hex', 'base64'] as const)(
    'JSON Lines with --values %s give back the exact bytes',
    async (encoding) => {
      const { dir, written } = await cleanLog();
      const { code, entries } = await dumpJson([dir, '--values', encoding]);
      expect(code).toBe(0);
      const decode = (s: string) => new Uint8Array(Buffer.from(s, encoding));
      const read: Written[] = entries.map((e) =>
        e.type === 'put'
          ? {
              sequence: e.sequence,
              type: e.type,
              key: decode(e.key),
              value: decode(e.value as string),
            }
          : { sequence: e.sequence, type: e.type, key: decode(e.key) },
      );
      expect(read).toEqual(written);
      // A delete has no value field at all.
      expect(Object.keys(entries[40] as object)).toEqual(['sequence', 'type', 'key']);
    },
  );

  test('JSON Lines with utf8 values', async () => {
    const { dir } = await cleanLog(2);
    const { entries } = await dumpJson([dir]);
    expect(entries[0]).toEqual({ sequence: 0, type: 'put', key: 'key-0', value: 'value-0' });
    expect(entries[3]).toEqual({
      sequence: 3,
      type: 'put',
      key: 'bin\n"é',
      value: expect.any(String),
    });
  });

  test('--from, --to and --limit', async () => {
    const { dir } = await cleanLog();
    const dumped = async (...argv: string[]) => sequences((await dumpJson([dir, ...argv])).entries);
    expect(await dumped('--from', '40', '--limit', '2')).toEqual([40, 41]);
    expect(await dumped('--from', '38')).toEqual(range(38, 44));
    expect(await dumped('--limit', '3')).toEqual([0, 1, 2]);
    expect(await dumped('--to', '3')).toEqual([0, 1, 2, 3]);
    expect(await dumped('--from', '7', '--to', '18')).toEqual(range(7, 19));
    expect(await dumped('--from', '7', '--to', '18', '--limit', '4')).toEqual(range(7, 11));
    expect(await dumped('--from', '5', '--to', '5')).toEqual([5]);
    // Inside a batch (41-42): the batch comes out from --from on, up to --to.
    expect(await dumped('--from=42')).toEqual([42, 43]);
    expect(await dumped('--to=41', '--from=40')).toEqual([40, 41]);
    for (const argv of [
      ['--limit', '0'],
      ['--from', '44'],
      ['--from', '1000000'],
    ]) {
      const r = await run(['dump', dir, ...argv]);
      expect(r).toEqual({ code: 0, stdout: '', stderr: '' });
    }
  });

  test('--to stops reading: damage after it is not met', async () => {
    const { dir } = await cleanLog();
    const hit = await flipFrame(dir, 3);
    // The entry before the damaged frame is past --to: the scan stops there.
    const to = hit.first - 2;
    const { code, entries } = await dumpJson([dir, '--to', String(to)]);
    expect(code).toBe(0);
    expect(sequences(entries)).toEqual(range(0, to + 1));
    // One more, and the next frame read is the damaged one.
    expect((await dumpJson([dir, '--to', String(to + 1)])).code).toBe(Exit.DAMAGED);
  });

  test('--key and --prefix select by key, in utf8, hex or base64', async () => {
    const { dir } = await cleanLog();
    const dumped = async (...argv: string[]) => (await dumpJson([dir, ...argv])).entries;
    // key-3 was put at 3 and deleted at 40.
    expect(await dumped('--key', 'key-3')).toEqual([
      { sequence: 3, type: 'put', key: 'key-3', value: 'value-3' },
      { sequence: 40, type: 'delete', key: 'key-3' },
    ]);
    const hex = Buffer.from('key-3').toString('hex');
    expect(sequences(await dumped('--key', hex, '--key-encoding', 'hex'))).toEqual([3, 40]);
    const b64 = Buffer.from('key-3').toString('base64');
    expect(sequences(await dumped('--key', b64, '--key-encoding', 'base64'))).toEqual([3, 40]);
    expect(sequences(await dumped('--prefix', 'key-1'))).toEqual([1, ...range(10, 20)]);
    // The key with every byte class: a quote, a newline, non-ASCII.
    const odd = Buffer.from('bin\n"\u00e9').toString('hex');
    expect(sequences(await dumped('--key', odd, '--key-encoding', 'hex'))).toEqual([41]);
    // The empty key, and the empty prefix (every key).
    expect(sequences(await dumped('--key', ''))).toEqual([43]);
    expect(await dumped('--prefix', '')).toHaveLength(44);
    expect(await dumped('--key', 'key-999')).toEqual([]);
  });

  test('key filters combine with the range; --limit counts what the filter keeps', async () => {
    const { dir } = await cleanLog();
    const dumped = async (...argv: string[]) => sequences((await dumpJson([dir, ...argv])).entries);
    expect(await dumped('--prefix', 'key-1', '--limit', '3')).toEqual([1, 10, 11]);
    expect(await dumped('--prefix', 'key-1', '--from', '12', '--to', '15')).toEqual(range(12, 16));
    expect(await dumped('--key', 'key-3', '--from', '4')).toEqual([40]);
    // In text too.
    const r = await run(['dump', dir, '--key', 'key-3']);
    expect(lines(r.stdout)).toEqual(['3 put "key-3" "value-3"', '40 delete "key-3"']);
  });

  test('a torn tail: the entries before it, exit 0, a note on stderr', async () => {
    const { dir } = await cleanLog();
    const { file, batch, offset, bytes } = await tearLastBatch(dir);
    const { code, entries, stderr } = await dumpJson([dir]);
    expect(code).toBe(0);
    expect(sequences(entries)).toEqual(range(0, batch.first));
    expect(lines(stderr)).toEqual([
      `note: torn tail in ${file} at offset ${offset} (${bytes} bytes) not shown`,
    ]);
    const strict = await dumpJson([dir, '--mode', 'strict']);
    expect(strict.code).toBe(Exit.DAMAGED);
    expect(sequences(strict.entries)).toEqual(range(0, batch.first));
    // The library's advice, in the CLI's words.
    expect(lines(strict.stderr)).toEqual([
      `wal: ${file} at offset ${offset}: expected a complete frame, found ${bytes} bytes before the end; ${bytes} bytes to the end of input (truncated); it is a torn tail (what a crash leaves), which --mode strict refuses: use --mode tolerate-tail to drop it, or cut it with wal repair ${dir} (the writer also cuts it when it opens the log)`,
    ]);
  });

  test('mid-log damage: the entries before it are printed, then one error line, exit 1', async () => {
    const { dir } = await cleanLog();
    const hit = await flipFrame(dir);
    const { code, entries, stderr } = await dumpJson([dir]);
    expect(code).toBe(Exit.DAMAGED);
    // Regression: they were buffered, and lost when the scan threw.
    expect(sequences(entries)).toEqual(range(0, hit.first));
    expect(lines(stderr)).toEqual([
      expect.stringMatching(
        new RegExp(`^wal: ${literal(hit.file)} at offset ${hit.offset}: .*\\(checksum-mismatch\\)`),
      ),
    ]);
    // The library advises its options and functions; the CLI names its flags and commands.
    expect(stderr).toContain(
      `the log cannot be read past it in --mode tolerate-tail. See every problem with wal verify ${dir}, set the damage aside with wal repair ${dir} (it keeps every byte and every intact record), or read what is intact with --mode point-in-time or --mode skip-corrupted`,
    );
  });

  test('mid-log damage with --mode point-in-time and skip-corrupted', async () => {
    const { dir } = await cleanLog();
    const hit = await flipFrame(dir);
    const pit = await dumpJson([dir, '--mode', 'point-in-time']);
    expect(pit.code).toBe(0);
    expect(sequences(pit.entries)).toEqual(range(0, hit.first));
    expect(lines(pit.stderr)).toEqual([
      `note: stopped at checksum-mismatch in ${hit.file} at offset ${hit.offset}; later entries not shown (see wal verify ${dir})`,
    ]);

    const torn = await tearLastBatch(dir);
    const skip = await dumpJson([dir, '--mode', 'skip-corrupted']);
    expect(skip.code).toBe(0);
    expect(sequences(skip.entries)).toEqual([
      ...range(0, hit.first),
      ...range(hit.next, torn.batch.first),
    ]);
    expect(lines(skip.stderr)).toEqual([
      `note: skipped 1 damaged region (see wal verify ${dir})`,
      `note: torn tail in ${torn.file} at offset ${torn.offset} (${torn.bytes} bytes) not shown`,
    ]);
  });

  test('a missing segment: exit 1 after the entries before it; skip-corrupted goes on', async () => {
    const { dir } = await cleanLog();
    const lost = await sequencesIn(dir, 2);
    removeSegment(dir, 2);
    const tolerant = await dumpJson([dir]);
    expect(tolerant.code).toBe(Exit.DAMAGED);
    expect(sequences(tolerant.entries)).toEqual(range(0, lost.first));
    expect(lines(tolerant.stderr)).toEqual([
      expect.stringMatching(
        /^wal: .*wal_00000003\.log at offset 0: expected wal_00000002\.log after wal_00000001\.log/,
      ),
    ]);

    const skip = await dumpJson([dir, '--mode', 'skip-corrupted']);
    expect(skip.code).toBe(0);
    expect(sequences(skip.entries)).toEqual([...range(0, lost.first), ...range(lost.next, 44)]);
    expect(lines(skip.stderr)).toEqual([`note: skipped 1 damaged region (see wal verify ${dir})`]);
  });

  test('after repair: sequences recorded as lost are noted, within the range dumped', async () => {
    const { dir } = await cleanLog();
    const { first } = await flipFrame(dir);
    expect((await run(['repair', dir])).code).toBe(0);
    const [from, to] = [String(first - 1), String(first + 1)];
    const around = await dumpJson([dir, '--from', from, '--to', to]);
    expect(around.code).toBe(0);
    expect(sequences(around.entries)).toEqual([first - 1, first + 1]);
    expect(lines(around.stderr)).toEqual([
      `note: sequence ${first} was lost to damage; repair incident 1 kept the bytes in ${path.join(dir, 'quarantine', '1')}`,
    ]);
    expect((await dumpJson([dir, '--from', String(first + 1)])).stderr).toBe('');
    expect((await dumpJson([dir, '--to', String(first - 1)])).stderr).toBe('');
  });
});

describe('wal dump <file>', () => {
  test('one segment of a log, alone', async () => {
    const { dir } = await cleanLog();
    const { first, next } = await sequencesIn(dir, 2);
    const { code, entries, stderr } = await dumpJson([segment(dir, 2)]);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(sequences(entries)).toEqual(range(first, next));
    const [from, to] = [first + 3, first + 4];
    const inside = await dumpJson([segment(dir, 2), '--from', String(from), '--to', String(to)]);
    expect(sequences(inside.entries)).toEqual([from, to]);
  });

  test("a repair incident's copy: the intact records around the damage, with skip-corrupted", async () => {
    // Under sync 'always' the frames after the damage say it was durable:
    // bit rot, even in a segment read alone as the end of its log.
    const { dir } = await cleanLog(undefined, 'always');
    const { first, next } = await sequencesIn(dir, 1);
    const hit = await flipFrame(dir);
    expect((await run(['repair', dir])).code).toBe(0);
    const copy = path.join(dir, 'quarantine', '1', 'wal_00000001.log');
    const tolerant = await dumpJson([copy]);
    expect(tolerant.code).toBe(Exit.DAMAGED);
    expect(sequences(tolerant.entries)).toEqual(range(first, hit.first));
    // No repair to suggest for a copy: its log is elsewhere.
    expect(tolerant.stderr).toContain('set the damage aside with wal repair on its log directory');
    const skip = await dumpJson([copy, '--mode', 'skip-corrupted', '--values', 'hex']);
    expect(skip.code).toBe(0);
    expect(sequences(skip.entries)).toEqual([...range(first, hit.first), ...range(hit.next, next)]);
    expect(lines(skip.stderr)).toEqual([`note: skipped 1 damaged region (see wal verify ${copy})`]);
  });

  test('a .broken copy Wal.open set aside: no entry (the segment kept them), the cut bytes noted', async () => {
    const { dir } = await cleanLog();
    const cut = await setAsideTail(dir, 20);
    const broken = cut.keptIn;
    const { code, entries, stderr } = await dumpJson([broken]);
    expect(code).toBe(0);
    expect(entries).toEqual([]);
    // Past its header the copy is zeros up to the cut bytes: one torn tail.
    const tail = fs.statSync(broken).size - SEGMENT_HEADER_SIZE;
    expect(lines(stderr)).toEqual([
      `note: torn tail in ${broken} at offset ${SEGMENT_HEADER_SIZE} (${tail} bytes) not shown`,
    ]);
    // Every entry is still in the log, once.
    expect(sequences((await dumpJson([dir])).entries)).toEqual(range(0, 44));
  });
});
