import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { MUTANTS } from '../mutants.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));

// test:mutants skips a mutant whose text is gone ("does not apply"), which
// only a run of it shows: a merge or a refactor of the code under it must
// fail here instead, at once.
test('every mutant of scripts/mutants.mjs applies: its text occurs once in its file', () => {
  const stale = MUTANTS.filter(
    (m) => fs.readFileSync(`${root}/${m.file}`, 'utf8').split(m.find).length - 1 !== 1,
  ).map((m) => `${m.name} (${m.file})`);
  expect(stale).toEqual([]);
});
