// wal.sealedSegments(options) checks its options as holdSegments does:
// WAL_INVALID_ARGUMENT, thrown at the call, before any I/O.
import { Wal } from '@wal/fs';
import { describe, expect, test } from 'vitest';
import { FaultyFs } from './faulty-fs.js';
import { tempDir } from './helpers.js';

describe('sealedSegments options', () => {
  test.each([
    ['a number', 5, 'expected an object, found'],
    ['a string', 'from', 'expected an object, found'],
    ['a misspelt key', { form: 1 }, 'unknown keys form'],
    ['an unknown key beside known ones', { from: 0, follow: true }, 'unknown keys follow'],
  ])('%s is WAL_INVALID_ARGUMENT, before any I/O', async (_, options, message) => {
    const faulty = new FaultyFs();
    const wal = await Wal.open({ dir: tempDir(), fs: faulty.fs });
    await wal.put('k', 'v');
    await wal.rotate();
    const calls = faulty.calls.length;
    let thrown: unknown;
    try {
      wal.sealedSegments(options as Parameters<Wal['sealedSegments']>[0]);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ code: 'WAL_INVALID_ARGUMENT' });
    expect((thrown as Error).message).toContain(message);
    expect(faulty.calls.length).toBe(calls);
    await wal.close();
  });

  test('undefined and an empty object are no options: every sealed segment', async () => {
    const wal = await Wal.open({ dir: tempDir() });
    await wal.put('k', 'v');
    await wal.rotate();
    for (const options of [undefined, {}]) {
      const feed = wal.sealedSegments(options);
      const first = await feed.next();
      expect(first.value).toMatchObject({ segment: 0 });
      await feed.return?.();
    }
    await wal.close();
  });
});
