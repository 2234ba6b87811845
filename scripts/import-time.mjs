// pnpm bench:import [--runs N]: the cold import time of every package entry
// point, from the built dist/ as a consumer loads it. Each run is a fresh
// Node process that times `await import(entry)`; the rounds interleave the
// entries, so load on the machine skews them alike. Prints the median wall
// time and the median CPU time (user + system) the import spent: on a busy
// machine the CPU figure is the steadier one. Builds first (turbo: a no-op
// when dist/ is up to date).
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { build, publicPackages } from './lib/packages.mjs';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '21' }, help: { type: 'boolean', default: false } },
});
if (values.help) {
  console.log('pnpm bench:import [--runs N]   cold import time per entry point (default 21 runs)');
  process.exit(0);
}
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) {
  console.error(`bench:import: expected --runs to be a positive integer, found ${values.runs}`);
  process.exit(2);
}

const probe = `const cpu = process.cpuUsage(); const start = performance.now();
await import(process.argv[1]);
const wall = performance.now() - start; const used = process.cpuUsage(cpu);
console.log(wall, (used.user + used.system) / 1000);`;

/** One timed import of `file` in a fresh process: [wall ms, cpu ms]. */
function timeImport(file) {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', probe, file], {
    encoding: 'utf8',
  });
  return out.trim().split(' ').map(Number);
}

const entries = publicPackages().flatMap((pkg) =>
  Object.entries(pkg.manifest.exports ?? {}).map(([subpath, conditions]) => ({
    name: path.posix.join(pkg.name, subpath),
    file: path.join(pkg.dir, conditions.default),
    /** @type {number[]} */
    wall: [],
    /** @type {number[]} */
    cpu: [],
  })),
);

console.log(`pnpm build: ${build()}`);
const load = os.loadavg()[0] ?? 0;
console.log(`node ${process.version}, ${os.cpus().length} cores, load average ${load.toFixed(1)}`);
for (const entry of entries) timeImport(entry.file); // warm the OS file cache
for (let round = 0; round < runs; round++) {
  for (const entry of entries) {
    const [wall = Number.NaN, cpu = Number.NaN] = timeImport(entry.file);
    entry.wall.push(wall);
    entry.cpu.push(cpu);
  }
}
const median = (values) => values.sort((a, b) => a - b)[values.length >> 1];
const width = Math.max(...entries.map((entry) => entry.name.length));
console.log(`\n${'entry'.padEnd(width)}  wall ms  cpu ms   (median of ${runs} cold imports)`);
for (const { name, wall, cpu } of entries) {
  const w = median(wall).toFixed(1).padStart(7);
  const c = median(cpu).toFixed(1).padStart(7);
  console.log(`${name.padEnd(width)}  ${w}  ${c}`);
}
const after = os.loadavg()[0] ?? 0;
if (Math.max(load, after) > os.cpus().length) {
  console.log(
    `\nload average ${after.toFixed(1)} at the end: the machine was busy, figures are high`,
  );
}
