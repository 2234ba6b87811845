// pnpm lint:packages: packs every publishable package as `pnpm publish` would,
// then checks each tarball three ways:
//   1. its manifest and file list (the checks below: no @wal/source condition
//      or workspace: range left, the same entry points as the source manifest,
//      every export and bin target present, nothing but dist/, README.md and
//      LICENSE shipped, the metadata a registry page needs);
//   2. publint (--strict: warnings fail too);
//   3. @arethetypeswrong/cli with the esm-only profile: the packages are ESM
//      only, so CommonJS resolution is out of scope (Node >= 20.19 can still
//      require() them), while node16/nodenext ESM and bundler resolution must
//      find the right types. --no-definitely-typed keeps it off the network.
// And the export reports (packages/<pkg>/api.md, scripts/api-report.mjs):
// each must match what the built .d.ts declares.
// Builds first (turbo: a no-op when dist/ is up to date). Exits 1 on any problem.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPORT_FILE, staleReports } from './api-report.mjs';
import { binMap, build, exportTargets, formatBytes, packAll, root } from './lib/packages.mjs';

const run = promisify(execFile);
const bin = (name) => path.join(root, 'node_modules', '.bin', name);

const SHIPPED = /^(dist\/.+|README\.md|LICENSE|package\.json)$/;

/** The problems in one packed package's manifest and file list. */
function checkPacked(pkg) {
  const problems = [];
  const { packed, manifest, entries } = pkg;
  const text = JSON.stringify(packed);
  if (text.includes('@wal/source')) problems.push('the @wal/source condition is still in exports');
  for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
    for (const [name, range] of Object.entries(packed[field] ?? {})) {
      if (String(range).startsWith('workspace:')) problems.push(`${field}.${name} is ${range}`);
    }
  }

  const sourcePaths = Object.keys(manifest.exports ?? {}).sort();
  const packedPaths = Object.keys(packed.exports ?? {}).sort();
  if (sourcePaths.join() !== packedPaths.join()) {
    problems.push(
      `exports ${packedPaths.join(', ')} differ from the source's ${sourcePaths.join(', ')}`,
    );
  }
  for (const [subpath, conditions] of Object.entries(packed.exports ?? {})) {
    const keys = Object.keys(conditions ?? {});
    if (keys[0] !== 'types' || !keys.includes('default')) {
      problems.push(
        `exports["${subpath}"] must list types first and have default: ${keys.join(', ')}`,
      );
    }
  }
  for (const target of exportTargets(packed.exports)) {
    if (!entries.has(target.replace(/^\.\//, '')))
      problems.push(`${target} is exported but not shipped`);
  }
  for (const [name, target] of Object.entries(binMap(packed))) {
    const entry = entries.get(target.replace(/^\.\//, ''));
    if (!entry) problems.push(`bin ${name}: ${target} is not shipped`);
    else if (!entry.data.subarray(0, 20).toString().startsWith('#!/usr/bin/env node\n')) {
      problems.push(`bin ${name}: ${target} does not start with #!/usr/bin/env node`);
    }
  }

  for (const required of ['README.md', 'LICENSE']) {
    if (!entries.has(required)) problems.push(`${required} is not shipped`);
  }
  for (const file of entries.keys()) {
    if (!SHIPPED.test(file))
      problems.push(`${file} is shipped but is not dist/, README.md or LICENSE`);
  }

  const directory = path.relative(root, pkg.dir).split(path.sep).join('/');
  const required = {
    description: typeof packed.description === 'string' && packed.description.length > 0,
    keywords: Array.isArray(packed.keywords) && packed.keywords.length > 0,
    license: packed.license === 'MIT',
    type: packed.type === 'module',
    sideEffects: packed.sideEffects !== undefined,
    'engines.node': typeof packed.engines?.node === 'string',
    [`repository.directory (${directory})`]: packed.repository?.directory === directory,
    'publishConfig.access public': packed.publishConfig?.access === 'public',
  };
  for (const [field, ok] of Object.entries(required)) {
    if (!ok) problems.push(`missing or wrong: ${field}`);
  }
  return problems;
}

async function tool(command, args) {
  try {
    const { stdout, stderr } = await run(command, args, { cwd: root, maxBuffer: 16 << 20 });
    return { ok: true, output: `${stdout}${stderr}`.trim() };
  } catch (error) {
    return {
      ok: false,
      output: `${error.stdout ?? ''}${error.stderr ?? ''}`.trim() || error.message,
    };
  }
}

const destination = mkdtempSync(path.join(os.tmpdir(), 'wal-lint-packages-'));
let failed = false;
try {
  console.log(`pnpm build: ${build()}`);
  const stale = staleReports();
  for (const { pkg, have } of stale) {
    const state = have === null ? 'is missing' : 'differs from the built .d.ts';
    console.log(`FAIL ${pkg.name}: ${REPORT_FILE} ${state}; run pnpm api:update and commit it`);
  }
  failed ||= stale.length > 0;
  const packages = packAll(destination);
  const results = await Promise.all(
    packages.map(async (pkg) => ({
      pkg,
      problems: checkPacked(pkg),
      publint: await tool(bin('publint'), ['run', pkg.tarball, '--strict']),
      attw: await tool(bin('attw'), [
        pkg.tarball,
        '--profile',
        'esm-only',
        '--no-definitely-typed',
        '--format',
        'table-flipped',
        '--no-color',
        '--no-emoji',
      ]),
    })),
  );
  for (const { pkg, problems, publint, attw } of results) {
    const ok = problems.length === 0 && publint.ok && attw.ok;
    failed ||= !ok;
    const size = `${formatBytes(pkg.packedBytes)} packed, ${pkg.entries.size} files`;
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${pkg.name}@${pkg.packed.version} (${size})`);
    for (const problem of problems) console.log(`     manifest: ${problem}`);
    const publintNotes = publint.output
      .split('\n')
      .filter(
        (line) =>
          line.trim() &&
          !/^(Running publint|Unpacking tarball|Packing files|Linting|All good)/.test(line.trim()),
      );
    if (!publint.ok || publintNotes.length > 0) {
      console.log(`     publint${publint.ok ? ' (suggestions)' : ''}:`);
      for (const line of publintNotes) console.log(`       ${line}`);
    }
    if (!attw.ok) {
      console.log('     attw:');
      for (const line of attw.output.split('\n')) console.log(`       ${line}`);
    }
  }
} catch (error) {
  failed = true;
  console.error(error instanceof Error ? error.message : error);
} finally {
  rmSync(destination, { recursive: true, force: true });
}
console.log(failed ? '\nlint:packages failed' : '\nlint:packages: every package is clean');
process.exitCode = failed ? 1 : 0;
