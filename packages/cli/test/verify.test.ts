// wal verify: exit 0 when clean, 1 with one line per problem (file, offset,
// bytes, reason); the tail policy per --mode; one segment file alone; --json.
import fs from 'node:fs';
import path from 'node:path';
import { Exit } from '@wal/cli';
import { SEGMENT_HEADER_SIZE } from '@wal/codec';
import type { VerifyReport } from '@wal/recovery';
import { describe, expect, test } from 'vitest';
import type { FileReport } from '../src/file-report.js';
import {
  appendGarbage,
  cleanLog,
  type FrameAt,
  flipByte,
  flipFrame,
  flipFrames,
  framesOf,
  hashTree,
  removeSegment,
  segment,
  segmentNumbers,
  sequencesIn,
  setAsideTail,
  tearLastBatch,
  tearTail,
} from './support/logs.js';
import { lines, literal, run, runJson } from './support/run.js';

const name = (file: string) => literal(path.basename(file));

describe('wal verify <dir>', () => {
  test('a clean log exits 0 with one ok line, in both modes', async () => {
    const { dir } = await cleanLog();
    const before = hashTree(dir);
    for (const mode of [[], ['--mode', 'tolerate-tail'], ['--mode', 'strict']]) {
      const r = await run(['verify', dir, ...mode]);
      expect(r).toEqual({
        code: 0,
        stdout: 'ok: 6 segments, 43 records, 44 entries\n',
        stderr: '',
      });
    }
    expect(hashTree(dir)).toEqual(before);
  });

  test('a torn tail: reported, exit 0 by default, exit 1 in strict', async () => {
    const { dir } = await cleanLog();
    // Past the close mark into the last batch.
    const torn = await tearLastBatch(dir);
    const at = `^torn tail ${name(torn.file)} offset ${torn.offset} bytes ${torn.bytes} truncated: `;
    const tolerant = await run(['verify', dir]);
    expect(tolerant.code).toBe(0);
    expect(lines(tolerant.stdout)).toEqual([
      expect.stringMatching(new RegExp(`${at}.* \\(cut when the log is next opened\\)$`)),
      'ok: 6 segments, 42 records, 43 entries',
    ]);

    const strict = await run(['verify', dir, '--mode', 'strict']);
    expect(strict.code).toBe(Exit.DAMAGED);
    expect(lines(strict.stdout)).toEqual([
      expect.stringMatching(new RegExp(`${at}[^(]*$`)),
      `damaged: 6 segments, 42 records, 43 entries; run wal repair ${dir} --dry-run to see the fix`,
    ]);
    expect(strict.stderr).toBe('');
  });

  test('garbage appended to the last segment is a torn tail of exactly those bytes', async () => {
    const { dir } = await cleanLog();
    const last = segment(dir, segmentNumbers(dir).at(-1) as number);
    const end = fs.statSync(last).size;
    appendGarbage(dir, 20);
    const r = await run(['verify', dir, '--mode', 'strict']);
    expect(r.code).toBe(Exit.DAMAGED);
    expect(r.stdout).toMatch(new RegExp(`^torn tail ${name(last)} offset ${end} bytes 20 `, 'm'));
  });

  test('a flipped byte mid-log: exit 1, the line names file, offset, bytes and reason', async () => {
    const { dir } = await cleanLog();
    const hit = await flipFrame(dir);
    const r = await run(['verify', dir]);
    expect(r.code).toBe(Exit.DAMAGED);
    expect(lines(r.stdout)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^damaged ${name(hit.file)} offset ${hit.offset} bytes ${hit.size} checksum-mismatch: expected CRC 0x[0-9a-f]{8} \\(stored\\), found 0x[0-9a-f]{8}`,
        ),
      ),
      `damaged: 6 segments, 42 records, 43 entries; run wal repair ${dir} --dry-run to see the fix`,
    ]);
  });

  test('a missing segment: exit 1, named where the chain breaks', async () => {
    const { dir } = await cleanLog();
    removeSegment(dir, 2);
    const r = await run(['verify', dir]);
    expect(r.code).toBe(Exit.DAMAGED);
    expect(lines(r.stdout)[0]).toMatch(
      /^damaged wal_00000003\.log offset 0 bytes 0 missing-segment: expected wal_00000002\.log after wal_00000001\.log, found wal_00000003\.log/,
    );
  });

  test('every problem is listed, not just the first', async () => {
    const { dir } = await cleanLog();
    await flipFrame(dir, 1);
    await flipFrame(dir, 3);
    await tearLastBatch(dir);
    const r = await run(['verify', dir]);
    expect(r.code).toBe(Exit.DAMAGED);
    const out = lines(r.stdout);
    expect(out.filter((l) => l.startsWith('damaged wal_'))).toHaveLength(2);
    expect(out.filter((l) => l.startsWith('torn tail wal_00000005.log'))).toHaveLength(1);
  });

  test('sequences an earlier repair recorded as lost are listed, and are not damage', async () => {
    const { dir } = await cleanLog();
    const hit = await flipFrame(dir);
    expect((await run(['repair', dir])).code).toBe(0);
    const r = await run(['verify', dir, '--mode', 'strict']);
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toEqual([
      `hole ${path.basename(hit.file)} offset ${hit.offset}: sequence ${hit.first} was lost to damage; repair incident 1 kept the bytes in ${path.join(dir, 'quarantine', '1')}`,
      'ok: 6 segments, 42 records, 43 entries',
    ]);
  });

  test('the suggested repair command quotes a path with spaces', async () => {
    const { dir } = await cleanLog(2);
    const spaced = `${dir} it's`;
    fs.renameSync(dir, spaced);
    flipByte(spaced, 0, 60);
    const r = await run(['verify', spaced]);
    expect(r.stdout).toContain(`run wal repair '${dir} it'\\''s' --dry-run`);
  });

  test('--json parses, with ok matching the exit code', async () => {
    const { dir } = await cleanLog();
    const clean = await runJson(['verify', dir, '--json']);
    expect(clean.code).toBe(0);
    expect(clean.json).toMatchObject({ ok: true, mode: 'tolerate-tail', entries: 44 });

    const torn = await tearLastBatch(dir);
    const strict = await runJson(['verify', dir, '--json', '--mode', 'strict']);
    expect(strict.code).toBe(Exit.DAMAGED);
    const report = strict.json as VerifyReport;
    expect(report).toMatchObject({ ok: false, mode: 'strict', damage: [], holes: [] });
    expect(report.tornTail).toMatchObject({
      file: torn.file,
      segment: torn.batch.segment,
      offset: torn.offset,
      bytes: torn.bytes,
      reason: 'truncated',
    });
    expect(report.segments.map((s) => s.sealed)).toEqual([true, true, true, true, true, false]);
  });
});

describe('wal verify <file>', () => {
  test('a sealed segment of a clean log: ok, with its sequences', async () => {
    const { dir } = await cleanLog();
    const one = await sequencesIn(dir, 1);
    const r = await run(['verify', segment(dir, 1)]);
    expect(r).toEqual({
      code: 0,
      stdout: `ok: wal_00000001.log, sealed, ${one.entries} entries, sequences ${one.first}-${one.last}\n`,
      stderr: '',
    });
    const n = segmentNumbers(dir).at(-1) as number;
    const five = await sequencesIn(dir, n);
    const last = await run(['verify', segment(dir, n)]);
    expect(last.stdout).toBe(
      `ok: ${path.basename(segment(dir, n))}, not sealed, ${five.entries} entries, sequences ${five.first}-${five.last}\n`,
    );
  });

  test('a damaged segment: exit 1, every region, and the repair for its log', async () => {
    // Written under sync 'always': later frames say the damaged ones were
    // durable, so it is bit rot even read as the end of its log.
    const { dir } = await cleanLog(undefined, 'always');
    const { first, last, entries } = await sequencesIn(dir, 1);
    const hits = await flipFrames(dir, 1, [1, 3]);
    const r = await run(['verify', segment(dir, 1)]);
    expect(r.code).toBe(Exit.DAMAGED);
    expect(lines(r.stdout)).toEqual([
      ...hits.map((hit) =>
        expect.stringMatching(
          new RegExp(
            `^damaged ${name(hit.file)} offset ${hit.offset} bytes ${hit.size} checksum-mismatch: `,
          ),
        ),
      ),
      `damaged: wal_00000001.log, sealed, ${entries - 2} entries, sequences ${first}-${last}; run wal repair ${dir} --dry-run to see the fix`,
    ]);
  });

  test('a segment a later one follows, cut short: damage, not a torn tail, as for its log', async () => {
    const { dir } = await cleanLog();
    const { first, last, entries } = await sequencesIn(dir, 1);
    const file = segment(dir, 1);
    fs.truncateSync(file, fs.statSync(file).size - 5);
    const whole = await run(['verify', dir]);
    expect(whole.code).toBe(Exit.DAMAGED);
    const r = await run(['verify', file]);
    expect(r.code).toBe(Exit.DAMAGED);
    expect(lines(r.stdout)).toEqual([
      expect.stringMatching(
        /^damaged wal_00000001\.log offset \d+ bytes \d+ truncated: .*; wal_00000002\.log follows it, so it is not the log's last segment, where alone a write can be torn$/,
      ),
      `damaged: wal_00000001.log, not sealed, ${entries} entries, sequences ${first}-${last}; run wal repair ${dir} --dry-run to see the fix`,
    ]);
    expect(lines(whole.stdout)[0]).toBe(lines(r.stdout)[0]?.replace(/; wal_00000002.*$/, ''));
  });

  test("a repair incident's copy: its damage, and no repair to suggest", async () => {
    const { dir } = await cleanLog(undefined, 'always');
    const { first, last, entries } = await sequencesIn(dir, 1);
    const hit = await flipFrame(dir);
    expect((await run(['repair', dir])).code).toBe(0);
    const copy = path.join(dir, 'quarantine', '1', 'wal_00000001.log');
    const r = await run(['verify', copy]);
    expect(r.code).toBe(Exit.DAMAGED);
    expect(lines(r.stdout)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^damaged ${name(copy)} offset ${hit.offset} bytes ${hit.size} checksum-mismatch: `,
        ),
      ),
      `damaged: wal_00000001.log, sealed, ${entries - 1} entries, sequences ${first}-${last}`,
    ]);
  });

  test('a torn tail of several regions: each is the tail, none is damage', async () => {
    // A crash before close: no mark, and under sync 'none' no frame says
    // anything past the header was durable. Two regions torn, an intact
    // frame between them.
    const { dir } = await cleanLog();
    const n = segmentNumbers(dir).at(-1) as number;
    const frames = await framesOf(dir, n);
    tearTail(dir, (frames.at(-1) as FrameAt).size);
    const [a, b] = await flipFrames(dir, n, [0, 2]);
    const file = segment(dir, n);
    for (const target of [dir, file]) {
      const r = await run(['verify', target]);
      expect(r.code).toBe(0);
      const out = lines(r.stdout);
      expect(out.filter((l) => l.startsWith('damaged '))).toEqual([]);
      expect(out).toEqual([
        expect.stringMatching(
          new RegExp(`^torn tail ${name(file)} offset ${a?.offset} bytes \\d+ checksum-mismatch: `),
        ),
        expect.stringMatching(/^ok: /),
      ]);
      expect((await run(['verify', target, '--mode', 'strict'])).code).toBe(Exit.DAMAGED);
    }
    const { json } = await runJson(['verify', file, '--json']);
    expect(json).toMatchObject({ ok: true, status: 'torn-tail', damage: [] });
    expect((json as FileReport).tornTail).toMatchObject({ offset: a?.offset });
    // skip-corrupted reads on past a torn write: the frame between comes back.
    const skip = await run(['dump', dir, '--mode', 'skip-corrupted']);
    expect(skip.code).toBe(0);
    expect(lines(skip.stderr)).toEqual([
      expect.stringMatching(
        new RegExp(`^note: torn tail in ${literal(file)} at offset ${a?.offset} `),
      ),
    ]);
    expect(b?.offset).toBeGreaterThan(frames[1]?.offset as number);
    expect(lines(skip.stdout).map((l) => Number(l.split(' ')[0]))).toContain(frames[1]?.first);
  });

  test('a .broken copy that Wal.open set aside: its torn tail, exit 0; strict exit 1', async () => {
    const { dir } = await cleanLog();
    const cut = await setAsideTail(dir, 20);
    const broken = cut.keptIn;
    const size = fs.statSync(broken).size;
    // The copy holds the cut bytes where they were, and zeros where the
    // segment kept its frames: read alone, all of it past the header is the
    // torn tail, and none of the entries the segment kept come out twice.
    expect(fs.readFileSync(broken).subarray(cut.offset)).toEqual(Buffer.alloc(20, 0x5a));
    expect(size).toBe(cut.offset + cut.bytes);
    const r = await run(['verify', broken]);
    expect(r.code).toBe(0);
    const tail = `offset ${SEGMENT_HEADER_SIZE} bytes ${size - SEGMENT_HEADER_SIZE}`;
    expect(lines(r.stdout)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^torn tail ${name(broken)} ${tail} bad-length: .*\\(cut when the log is next opened\\)$`,
        ),
      ),
      `ok: ${path.basename(broken)}, not sealed, 0 entries`,
    ]);
    expect((await run(['verify', broken, '--mode', 'strict'])).code).toBe(Exit.DAMAGED);
  });

  test('a header that is not a segment header: unreadable, exit 1', async () => {
    const { dir } = await cleanLog(2);
    const file = flipByte(dir, 0, 1);
    const { code, json } = await runJson(['verify', file, '--json']);
    expect(code).toBe(Exit.DAMAGED);
    expect(json).toMatchObject({
      ok: false,
      status: 'unreadable',
      sealed: false,
      entries: 0,
      damage: [{ offset: 0, reason: 'bad-header' }],
    });
  });

  test('--json: the report of the file, ok matching the exit code', async () => {
    const { dir } = await cleanLog();
    const { first, last, next, entries } = await sequencesIn(dir, 2);
    const { code, json } = await runJson(['verify', segment(dir, 2), '--json']);
    expect(code).toBe(0);
    const report = json as FileReport;
    expect(report).toEqual({
      file: segment(dir, 2),
      segment: 2,
      mode: 'tolerate-tail',
      ok: true,
      status: 'ok',
      sealed: true,
      bytes: fs.statSync(segment(dir, 2)).size,
      firstSequence: first,
      lastSequence: last,
      nextSequence: next,
      entries,
      damage: [],
      tornTail: null,
      holes: [],
      durationMs: expect.any(Number),
    });
  });
});
