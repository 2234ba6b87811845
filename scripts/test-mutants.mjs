#!/usr/bin/env node
// `pnpm test:mutants`: for every durability-critical step (each fdatasync,
// directory fsync, durable copy, check in open, lock step), a patch that
// deletes it must make the test suite fail. Prints which mutants were
// killed, and by which tests; exits 1 if any survived.
//
//   pnpm test:mutants                 # every mutant
//   pnpm test:mutants --only a,b      # some of them
//   pnpm test:mutants --list          # the table, without running
//
// Each mutant is a literal replacement in one source file (the `find` text
// must occur exactly once, so a mutant cannot silently stop applying), run
// against the test files named in `tests` (the suites that model crashes,
// faults and damage). The file is restored afterwards, whatever happens.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { MUTANTS } from './mutants.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const usage = `Usage: pnpm test:mutants [--only NAME,...] [--list]

Applies one patch per durability step and checks that the tests fail.
  --only LIST  run only these mutants (comma-separated names)
  --list       print the mutants and exit
  -h, --help   this help`;

let values;
try {
  ({ values } = parseArgs({
    options: {
      only: { type: 'string' },
      list: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  }));
} catch (error) {
  console.error(`test:mutants: ${error.message}\n${usage}`);
  process.exit(2);
}
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const only = values.only?.split(',');
const unknown = (only ?? []).filter((name) => !MUTANTS.some((m) => m.name === name));
if (unknown.length > 0) {
  console.error(`test:mutants: unknown mutant ${unknown.join(', ')}\n${usage}`);
  process.exit(2);
}
const chosen = MUTANTS.filter((m) => !only || only.includes(m.name));
if (values.list) {
  for (const m of chosen) console.log(`${m.name}\t${m.file}\t${m.step}`);
  process.exit(0);
}

const vitest = path.join(root, 'node_modules', 'vitest', 'vitest.mjs');
const results = [];
for (const mutant of chosen) {
  const file = path.join(root, mutant.file);
  const original = readFileSync(file, 'utf8');
  const count = original.split(mutant.find).length - 1;
  if (count !== 1) {
    console.error(
      `${mutant.name}: expected its text once in ${mutant.file}, found it ${count} times`,
    );
    results.push({ mutant, killed: false, by: ['(does not apply: update scripts/mutants.mjs)'] });
    continue;
  }
  const report = path.join(tmpdir(), `wal-mutant-${process.pid}-${mutant.name}.json`);
  writeFileSync(file, original.replace(mutant.find, mutant.replace));
  let run;
  try {
    run = spawnSync(
      process.execPath,
      [vitest, 'run', ...mutant.tests, '--reporter=json', `--outputFile=${report}`, '--bail=1'],
      { cwd: root, encoding: 'utf8', env: { ...process.env, WAL_MUTANT: mutant.name } },
    );
  } finally {
    writeFileSync(file, original);
  }
  const failed = failedTests(report);
  rmSync(report, { force: true });
  const killed = run.status !== 0;
  results.push({ mutant, killed, by: failed });
  console.log(
    `${killed ? 'killed  ' : 'SURVIVED'} ${mutant.name}${killed ? `: ${failed[0] ?? '(run failed)'}` : ''}`,
  );
}

console.log('\n| mutant | step removed | killed by |\n|---|---|---|');
for (const { mutant, killed, by } of results) {
  console.log(
    `| ${mutant.name} | ${mutant.step} | ${killed ? by.slice(0, 2).join('; ') || 'a failing run' : '**SURVIVED**'} |`,
  );
}
const survived = results.filter((r) => !r.killed).length;
console.log(`\n${results.length - survived} of ${results.length} mutants killed`);
process.exit(survived === 0 ? 0 : 1);

// "file > describe > test" for every failed test in a vitest JSON report.
function failedTests(report) {
  try {
    const json = JSON.parse(readFileSync(report, 'utf8'));
    return json.testResults.flatMap((file) =>
      file.assertionResults
        .filter((t) => t.status === 'failed')
        .map((t) => `${path.relative(root, file.name)} > ${t.fullName}`),
    );
  } catch {
    return [];
  }
}
