// The library's messages advise its API (modes as options, verify(),
// repair(), Wal.open); the CLI shows them in its own flags and commands.
// Fed here the messages the library really produces, so a reworded message
// that the translation no longer catches fails.
import path from 'node:path';
import { scanLog } from '@wal/recovery';
import { describe, expect, test } from 'vitest';
import { translateAdvice } from '../src/advice.js';
import type { Target } from '../src/target.js';
import { cleanLog, flipFrame, segment, tearLastBatch, tempDir } from './support/logs.js';
import { run } from './support/run.js';

/** The message a scan of `dir` rejects with. */
async function scanError(dir: string, mode: 'strict' | 'tolerate-tail'): Promise<string> {
  try {
    for await (const _ of scanLog(dir, { mode })) {
      // Read to the end, or to the error.
    }
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the scan to fail');
}

// What only the library's API would understand.
const LIBRARY_WORDS = /mode '|' mode|\w\(\)|Wal\.open|maxRecordBytes|fromSequence|ifMissing/;

const dirTarget = (arg: string): Target => ({ kind: 'dir', arg, path: path.resolve(arg) });

describe('library advice in CLI words', () => {
  test('damage the mode refuses', async () => {
    const { dir } = await cleanLog();
    await flipFrame(dir);
    const message = await scanError(dir, 'tolerate-tail');
    expect(message).toMatch(LIBRARY_WORDS);
    const shown = translateAdvice(message, dirTarget('data/wal'));
    expect(shown).not.toMatch(LIBRARY_WORDS);
    expect(shown).toContain('in --mode tolerate-tail.');
    expect(shown).toContain('See every problem with wal verify data/wal,');
    expect(shown).toContain('set the damage aside with wal repair data/wal (');
    expect(shown).toContain(
      'or read what is intact with --mode point-in-time or --mode skip-corrupted',
    );
    // The facts are kept word for word.
    expect(shown.slice(0, shown.indexOf(';'))).toBe(message.slice(0, message.indexOf(';')));
  });

  test('a torn tail strict mode refuses', async () => {
    const { dir } = await cleanLog();
    await tearLastBatch(dir);
    const message = await scanError(dir, 'strict');
    expect(message).toMatch(LIBRARY_WORDS);
    const shown = translateAdvice(message, dirTarget("my log's dir"));
    expect(shown).not.toMatch(LIBRARY_WORDS);
    expect(shown).toContain(
      "which --mode strict refuses: use --mode tolerate-tail to drop it, or cut it with wal repair 'my log'\\''s dir' (the writer also cuts it when it opens the log)",
    );
  });

  test('a missing directory', async () => {
    const message = await scanError(path.join(tempDir(), 'nope'), 'tolerate-tail');
    expect(message).toMatch(LIBRARY_WORDS);
    expect(translateAdvice(message, undefined)).not.toMatch(LIBRARY_WORDS);
  });

  test('for a file: repair is suggested on its log, unless it is a copy', async () => {
    const { dir } = await cleanLog();
    const message = 'see verify() and repair()';
    const file = (arg: string): Target => ({ kind: 'file', arg, path: path.resolve(arg) });
    expect(translateAdvice(message, file(segment(dir, 1)))).toBe(
      `see wal verify ${segment(dir, 1)} and wal repair ${dir}`,
    );
    for (const copy of [
      `${segment(dir, 1)}.broken`,
      path.join(dir, 'quarantine', '2', 'wal_00000001.log'),
      path.join(dir, 'saved.bin'),
    ]) {
      expect(translateAdvice(message, file(copy))).toBe(
        `see wal verify ${copy} and wal repair on its log directory`,
      );
    }
  });

  test('every failing command of this suite shows none of the library words', async () => {
    // Under sync 'always' the flipped frame is bit rot even in segment 1 read
    // alone (as the end of its log): later frames say it was durable.
    const { dir } = await cleanLog(undefined, 'always');
    await flipFrame(dir);
    await tearLastBatch(dir);
    for (const argv of [
      ['dump', dir],
      ['dump', dir, '--mode', 'strict'],
      ['stats', dir],
      ['dump', segment(dir, 1)],
      ['dump', segment(dir, 5), '--mode', 'strict'],
    ]) {
      const r = await run(argv);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^wal: /);
      expect(r.stderr).not.toMatch(LIBRARY_WORDS);
    }
  });
});
