// wal dump: text and JSON Lines, exact bytes through hex and base64,
// --from/--limit, and what it prints around damage in each mode.
import { Exit } from '@wal/cli';
import { describe, expect, test } from 'vitest';
import { cleanLog, flipByte, removeSegment, tearTail, type Written } from './support/logs.js';
import { lines, run } from './support/run.js';

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
  const r = await run(['dump', ...argv, '--format', 'json']);
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

  test('--from and --limit', async () => {
    const { dir } = await cleanLog();
    expect(sequences((await dumpJson([dir, '--from', '40', '--limit', '2'])).entries)).toEqual([
      40, 41,
    ]);
    expect(sequences((await dumpJson([dir, '--from', '38'])).entries)).toEqual(range(38, 44));
    expect(sequences((await dumpJson([dir, '--limit', '3'])).entries)).toEqual([0, 1, 2]);
    // Inside a batch: the batch comes out from --from on.
    expect(sequences((await dumpJson([dir, '--from=42'])).entries)).toEqual([42, 43]);
    for (const argv of [
      ['--limit', '0'],
      ['--from', '44'],
      ['--from', '1000000'],
    ]) {
      const r = await run(['dump', dir, ...argv]);
      expect(r).toEqual({ code: 0, stdout: '', stderr: '' });
    }
  });

  test('a torn tail: the entries before it, exit 0, a note on stderr', async () => {
    const { dir } = await cleanLog();
    const file = tearTail(dir);
    const { code, entries, stderr } = await dumpJson([dir]);
    expect(code).toBe(0);
    expect(sequences(entries)).toEqual(range(0, 43));
    expect(lines(stderr)).toEqual([
      expect.stringMatching(
        new RegExp(`^note: torn tail in ${file} at offset \\d+ \\(\\d+ bytes\\) not shown$`),
      ),
    ]);
    const strict = await dumpJson([dir, '--mode', 'strict']);
    expect(strict.code).toBe(Exit.FAILED);
    expect(sequences(strict.entries)).toEqual(range(0, 43));
  });

  test('mid-log damage: the entries before it are printed, then one error line, exit 1', async () => {
    const { dir } = await cleanLog();
    const file = flipByte(dir, 1);
    const { code, entries, stderr } = await dumpJson([dir]);
    expect(code).toBe(Exit.FAILED);
    // Regression: they were buffered, and lost when the scan threw.
    expect(sequences(entries)).toEqual(range(0, 12));
    expect(lines(stderr)).toEqual([
      expect.stringMatching(new RegExp(`^wal: ${file} at offset 76: .*checksum-mismatch`)),
    ]);
  });

  test('mid-log damage with --mode point-in-time and skip-corrupted', async () => {
    const { dir } = await cleanLog();
    const file = flipByte(dir, 1);
    const pit = await dumpJson([dir, '--mode', 'point-in-time']);
    expect(pit.code).toBe(0);
    expect(sequences(pit.entries)).toEqual(range(0, 12));
    expect(lines(pit.stderr)).toEqual([
      `note: stopped at checksum-mismatch in ${file} at offset 76; later entries not shown (see wal verify)`,
    ]);

    tearTail(dir);
    const skip = await dumpJson([dir, '--mode', 'skip-corrupted']);
    expect(skip.code).toBe(0);
    expect(sequences(skip.entries)).toEqual([...range(0, 12), ...range(13, 43)]);
    expect(lines(skip.stderr)).toEqual([
      'note: skipped 1 damaged region and 0 gaps (see wal verify)',
      expect.stringMatching(/^note: torn tail in .*wal_00000004\.log at offset \d+/),
    ]);
  });

  test('a missing segment: exit 1 after the entries before the gap; skip-corrupted goes on', async () => {
    const { dir } = await cleanLog();
    removeSegment(dir, 2);
    const tolerant = await dumpJson([dir]);
    expect(tolerant.code).toBe(Exit.FAILED);
    expect(sequences(tolerant.entries)).toEqual(range(0, 21));
    expect(lines(tolerant.stderr)).toEqual([
      expect.stringMatching(/^wal: .*wal_00000003\.log: expected wal_00000002\.log/),
    ]);

    const skip = await dumpJson([dir, '--mode', 'skip-corrupted']);
    expect(skip.code).toBe(0);
    expect(sequences(skip.entries)).toEqual([...range(0, 21), ...range(31, 44)]);
    expect(lines(skip.stderr)).toEqual([
      'note: skipped 0 damaged regions and 1 gap (see wal verify)',
    ]);
  });
});
