#!/usr/bin/env node
// `pnpm test:mutants`: for every durability-critical step (each fdatasync,
// directory fsync, durable copy, check in open, lock step), a patch that
// deletes it must make the test suite fail. Prints which mutants were
// killed, and by which tests; exits 1 if any survived. A timeout is never a
// kill, and the suites must pass unpatched first (the baseline).
//
//   pnpm test:mutants                 # every mutant
//   pnpm test:mutants --only a,b      # some of them
//   pnpm test:mutants --list          # the table, without running
//
// Each mutant is a literal replacement in one source file (the `find` text
// must occur exactly once, so a mutant cannot silently stop applying), run
// against the test files in its `killers` (those meant to catch it), and if
// it survives them, against all of `tests` (the suites that model crashes,
// faults and damage). The file is restored afterwards, whatever happens.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { MUTANTS } from './mutants.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const usage = `Usage: pnpm test:mutants [--only NAME,...] [--list] [--no-baseline]

Applies one patch per durability step and checks that the tests fail.
  --only LIST    run only these mutants (comma-separated names)
  --list         print the mutants and exit
  --no-baseline  skip the first run of the suites on the unpatched sources
  -h, --help     this help`;

let values;
try {
  ({ values } = parseArgs({
    options: {
      only: { type: 'string' },
      list: { type: 'boolean' },
      'no-baseline': { type: 'boolean' },
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
  for (const m of chosen) console.log(`${m.name}\t${m.file}\t${m.step}\t${m.killers.join(' ')}`);
  process.exit(0);
}

const vitest = path.join(root, 'node_modules', 'vitest', 'vitest.mjs');

// Runs vitest over `tests` (stopping at the first failure) and returns the
// failed tests, each with its first failure line. A test that ran out of
// time proves nothing about a mutant (the machine may just be busy), so
// default timeouts are raised far past any honest run, and a timeout never
// counts as a kill.
function runSuites(tests, env, label) {
  const report = path.join(tmpdir(), `wal-mutant-${process.pid}-${label}.json`);
  const run = spawnSync(
    process.execPath,
    [
      vitest,
      'run',
      ...tests,
      '--reporter=json',
      `--outputFile=${report}`,
      '--bail=1',
      '--testTimeout=900000',
      '--hookTimeout=900000',
    ],
    { cwd: root, encoding: 'utf8', env: { ...process.env, ...env } },
  );
  const failed = failedTests(report);
  rmSync(report, { force: true });
  const conclusive = failed.filter((f) => !TIMEOUT.test(f.why) && !BROKEN.test(f.why));
  const broken = failed.some((f) => BROKEN.test(f.why));
  return { status: run.status, failed, conclusive, broken, output: `${run.stdout}${run.stderr}` };
}

const TIMEOUT = /\b(Test|Hook) timed out\b/;
// A patch that does not compile kills nothing: its replacement must be fixed.
const BROKEN = /Transform failed|SyntaxError/;

if (!values['no-baseline']) {
  const suites = [...new Set(chosen.flatMap((m) => [...m.killers, ...m.tests]))];
  const base = runSuites(suites, {}, 'baseline');
  if (base.status !== 0) {
    console.error(
      `test:mutants: the suites fail without any mutant, so no kill would mean anything:\n${
        base.failed.map((f) => `  ${f.test}: ${f.why}`).join('\n') || base.output.slice(-4000)
      }`,
    );
    process.exit(1);
  }
  console.log(`baseline: ${suites.join(' ')} pass unpatched`);
}

const results = [];
for (const mutant of chosen) {
  const file = path.join(root, mutant.file);
  const original = readFileSync(file, 'utf8');
  const count = original.split(mutant.find).length - 1;
  if (count !== 1) {
    console.error(
      `${mutant.name}: expected its text once in ${mutant.file}, found it ${count} times`,
    );
    results.push({ mutant, verdict: 'does not apply', by: [] });
    continue;
  }
  writeFileSync(file, original.replace(mutant.find, mutant.replace));
  let run;
  try {
    // The tests written to kill it first (fast, and they name the step);
    // then, if it survives them, every suite. A run that failed only by
    // timeouts (or died without a report) is run once more.
    const plans = mutant.killers.length > 0 ? [mutant.killers, mutant.tests] : [mutant.tests];
    plan: for (const tests of plans) {
      for (let attempt = 0; attempt < 2; attempt++) {
        run = runSuites(tests, { WAL_MUTANT: mutant.name }, mutant.name);
        if (run.broken || run.conclusive.length > 0) break plan;
        if (run.status === 0) break;
      }
    }
  } finally {
    writeFileSync(file, original);
  }
  const killed = run.status !== 0 && run.conclusive.length > 0;
  const verdict = killed
    ? 'killed'
    : run.broken
      ? 'broken'
      : run.status === 0
        ? 'survived'
        : 'unclear';
  results.push({ mutant, verdict, by: run.conclusive.map((f) => f.test) });
  const first = run.conclusive[0];
  const detail = {
    killed: () => `: ${first.test}\n           ${first.why}`,
    broken: () =>
      `: the patched source does not compile: ${run.failed.find((f) => BROKEN.test(f.why))?.why}`,
    survived: () => '',
    unclear: () =>
      `: only timeouts, or a run without a report: ${run.failed.map((f) => f.test).join('; ') || run.output.slice(-2000)}`,
  }[verdict]();
  console.log(`${verdict.toUpperCase().padEnd(8)} ${mutant.name}${detail}`);
}

console.log('\n| mutant | step removed | killed by |\n|---|---|---|');
for (const { mutant, verdict, by } of results) {
  const cell = verdict === 'killed' ? by.slice(0, 2).join('; ') : `**${verdict.toUpperCase()}**`;
  console.log(`| ${mutant.name} | ${mutant.step} | ${cell} |`);
}
const killedCount = results.filter((r) => r.verdict === 'killed').length;
console.log(`\n${killedCount} of ${results.length} mutants killed`);
process.exit(killedCount === results.length ? 0 : 1);

// Every failed test in a vitest JSON report, and every test file that
// failed to run: "file > describe > test", and the first line of its
// first failure message.
function failedTests(report) {
  try {
    const json = JSON.parse(readFileSync(report, 'utf8'));
    return json.testResults.flatMap((file) => {
      const name = path.relative(root, file.name);
      const tests = file.assertionResults
        .filter((t) => t.status === 'failed')
        .map((t) => ({ test: `${name} > ${t.fullName}`, why: firstLine(t.failureMessages?.[0]) }));
      const broken = file.status === 'failed' && tests.length === 0 && file.message;
      return broken ? [...tests, { test: name, why: firstLine(file.message) }] : tests;
    });
  } catch {
    return [];
  }
}

function firstLine(message = '') {
  return (message.split('\n')[0] ?? '').slice(0, 300);
}
