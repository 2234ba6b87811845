// pnpm test:consumer: installs the packed packages into fresh npm projects
// outside the workspace, as a consumer would, and uses them there.
//
// Builds first (turbo: a no-op when dist/ is up to date). Needs Node and npm,
// and the network only for the npm registry (@types/node comes from there). For each scenario:
//   - a new project in the OS temp directory with only the picked tarballs as
//     dependencies (their @wal dependencies come from the tarballs too, through
//     `overrides`, never from the registry);
//   - `npm install`, then a check that every @wal package came from a tarball,
//     once, with no @wal/source condition or workspace: range left;
//   - a plain ESM program (scripts/consumer/*.mjs) that exercises the packages;
//   - `tsc --noEmit` (the repo's TypeScript, module and moduleResolution
//     nodenext, skipLibCheck off) over a .ts consumer file with
//     `@ts-expect-error` lines, so `any` types would fail it too;
//   - for the full stack: `npx wal` on the logs the program made, and the CLI
//     installed with `npm install -g` into a temp prefix, run by its shebang.
// Prints what it does, exits 1 on the first failure and keeps the temp
// directory then (or always, with --keep).
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build, formatBytes, packAll, root } from './lib/packages.mjs';

const SCENARIOS = [
  { name: 'a-codec', title: '(a) @wal/codec alone', picks: ['@wal/codec'], files: ['codec'] },
  { name: 'b-fs', title: '(b) @wal/fs and its dependencies', picks: ['@wal/fs'], files: ['fs'] },
  {
    name: 'c-full',
    title: '(c) the full stack and the CLI',
    picks: ['@wal/codec', '@wal/fs', '@wal/recovery', '@wal/memtable', '@wal/cli'],
    files: ['full'],
    cli: true,
  },
];

const keep = process.argv.includes('--keep');
const started = performance.now();
const sourceDir = path.join(root, 'scripts', 'consumer');
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const rootManifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const typesNode = rootManifest.devDependencies['@types/node'];

// npm must not see the workspace: when this runs under pnpm or npx, npm_*
// variables (npm_config_local_prefix among them) point into it. Keep only
// the settings that say how to reach the registry.
const KEEP_NPM = /^npm_config_(registry|cafile|ca|proxy|https_proxy|noproxy|strict_ssl|cache)$/i;
const env = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => !/^(npm_|pnpm_)/i.test(key) || KEEP_NPM.test(key)),
);
Object.assign(env, {
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  npm_config_update_notifier: 'false',
  NO_COLOR: '1',
});

class StepError extends Error {}

function step(label, fn) {
  const t = performance.now();
  try {
    const note = fn();
    const ms = Math.round(performance.now() - t);
    console.log(`  ok   ${label}${note ? `: ${note}` : ''} (${ms} ms)`);
  } catch (error) {
    console.log(`  FAIL ${label}`);
    throw error;
  }
}

/** Runs a command; returns its result, or throws when the exit code is not `expect`. */
function sh(cwd, command, args, expect = 0) {
  const result = spawnSync(command, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (result.error) throw result.error;
  if (result.status !== expect) {
    const output = `${result.stdout}${result.stderr}`.trim();
    throw new StepError(
      `${command} ${args.join(' ')} exited ${result.status}, expected ${expect}\n${indent(output)}`,
    );
  }
  return result;
}

function indent(text) {
  return text
    .split('\n')
    .filter((line) => !/Unknown (user|env) config/.test(line))
    .map((line) => `       ${line}`)
    .join('\n');
}

function check(ok, message) {
  if (!ok) throw new StepError(message);
}

/** The picked packages and every @wal package they depend on, transitively. */
function closure(picks, packages) {
  const byName = new Map(packages.map((pkg) => [pkg.name, pkg]));
  const out = new Set();
  const visit = (name) => {
    if (out.has(name)) return;
    const pkg = byName.get(name);
    check(pkg !== undefined, `${name} is not a workspace package`);
    out.add(name);
    for (const dep of Object.keys(pkg.packed.dependencies ?? {})) {
      if (byName.has(dep)) visit(dep);
    }
  };
  for (const name of picks) visit(name);
  return [...out].sort();
}

const work = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'wal-consumer-')));
let failed = false;
try {
  check(
    path.relative(realpathSync(root), work).startsWith('..'),
    `${work} is inside the workspace`,
  );
  console.log(`test:consumer in ${work} on Node ${process.version}\n`);

  // `npx wal`, npm and the CLI's shebang find node on PATH: it must be this
  // one, or they would test another Node than the one named above.
  step('node on PATH is the node running this', () => {
    const found = sh(work, 'node', ['--version']).stdout.trim();
    check(found === process.version, `node on PATH is ${found}, expected ${process.version}`);
    return found;
  });

  step('pnpm build', build);
  let packages;
  step('pnpm pack every publishable package', () => {
    packages = packAll(path.join(work, 'tarballs'));
    return `${packages.length} tarballs`;
  });
  const byName = new Map(packages.map((pkg) => [pkg.name, pkg]));
  console.log('');
  for (const pkg of packages) {
    const deps = Object.entries(pkg.packed.dependencies ?? {});
    const list = deps.map(([name, range]) => `${name}@${range}`).join(', ') || 'none';
    console.log(
      `  ${`${pkg.name}@${pkg.packed.version}`.padEnd(20)} ${formatBytes(pkg.packedBytes).padStart(8)} packed, ` +
        `${String(pkg.entries.size).padStart(2)} files, ${deps.length} ${deps.length === 1 ? 'dependency' : 'dependencies'}: ${list}`,
    );
  }

  for (const scenario of SCENARIOS) {
    const dir = path.join(work, scenario.name);
    const wanted = closure(scenario.picks, packages);
    console.log(`\n${scenario.title}: ${wanted.join(', ')}`);
    mkdirSync(dir);
    const spec = (name) =>
      `file:${path.relative(dir, byName.get(name).tarball).split(path.sep).join('/')}`;
    const manifest = {
      name: `wal-consumer-${scenario.name}`,
      private: true,
      type: 'module',
      dependencies: Object.fromEntries(scenario.picks.map((name) => [name, spec(name)])),
      devDependencies: { '@types/node': typesNode },
      overrides: Object.fromEntries(
        wanted.filter((name) => !scenario.picks.includes(name)).map((name) => [name, spec(name)]),
      ),
    };
    writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    for (const file of scenario.files) {
      copyFileSync(path.join(sourceDir, `${file}.mjs`), path.join(dir, `${file}.mjs`));
      copyFileSync(path.join(sourceDir, `${file}.ts`), path.join(dir, `${file}.ts`));
    }

    step('npm install', () => {
      sh(dir, 'npm', ['install', '--no-audit', '--no-fund', '--loglevel=error']);
    });

    step('every @wal package from its tarball, once, with no workspace leftovers', () => {
      const lock = JSON.parse(readFileSync(path.join(dir, 'package-lock.json'), 'utf8'));
      const installed = Object.entries(lock.packages).filter(([key]) =>
        /(^|\/)node_modules\/@wal\/[^/]+$/.test(key),
      );
      const names = installed.map(([key]) => key.replace(/^.*node_modules\//, '')).sort();
      check(
        names.join() === wanted.join(),
        `installed ${names.join(', ')}, expected ${wanted.join(', ')}`,
      );
      for (const [key, entry] of installed) {
        check(
          /^file:/.test(entry.resolved ?? '') || /^(\.\.\/)*tarballs\//.test(entry.resolved ?? ''),
          `${key} resolved from ${entry.resolved}, not a tarball`,
        );
        const installedManifest = readFileSync(path.join(dir, key, 'package.json'), 'utf8');
        check(!installedManifest.includes('@wal/source'), `${key} still has @wal/source`);
        check(!installedManifest.includes('workspace:'), `${key} still has a workspace: range`);
      }
      const thirdParty = Object.keys(lock.packages).filter(
        (key) =>
          key.startsWith('node_modules/') &&
          !key.includes('@wal/') &&
          !key.includes('@types/node') &&
          !key.includes('undici-types'),
      );
      return `and ${thirdParty.map((key) => key.replace(/^.*node_modules\//, '')).join(', ') || 'nothing else'}`;
    });

    for (const file of scenario.files) {
      step(`node ${file}.mjs`, () => sh(dir, process.execPath, [`${file}.mjs`]).stdout.trim());
    }

    const typeFiles = scenario.files.map((file) => `${file}.ts`);
    if (scenario.cli) {
      copyFileSync(path.join(sourceDir, 'memtable.ts'), path.join(dir, 'memtable.ts'));
      typeFiles.push('memtable.ts');
    }
    const tsconfig = {
      compilerOptions: {
        target: 'es2023',
        lib: ['es2023'],
        module: 'nodenext',
        moduleResolution: 'nodenext',
        types: ['node'],
        strict: true,
        noEmit: true,
        skipLibCheck: false,
      },
      files: typeFiles,
    };
    writeFileSync(path.join(dir, 'tsconfig.json'), `${JSON.stringify(tsconfig, null, 2)}\n`);
    step(`tsc --noEmit (nodenext) over ${typeFiles.join(', ')}`, () => {
      sh(dir, process.execPath, [tsc, '-p', 'tsconfig.json']);
    });

    if (scenario.cli) {
      const version = byName.get('@wal/cli').packed.version;
      step('npx wal --version', () => {
        const out = sh(dir, 'npx', ['--no', '--', 'wal', '--version']).stdout.trim();
        check(out === version, `printed ${out}, expected ${version}`);
        return out;
      });
      step('npx wal verify log exits 0', () => {
        const out = sh(dir, 'npx', ['--no', '--', 'wal', 'verify', 'log']).stdout.trim();
        return out.split('\n').at(-1);
      });
      step('npx wal verify damaged exits 1', () => {
        const out = sh(dir, 'npx', ['--no', '--', 'wal', 'verify', 'damaged'], 1).stdout.trim();
        check(/checksum|damage/i.test(out), `no damage reported:\n${indent(out)}`);
        return out.split('\n').at(-1);
      });
      step('npx wal verify (no directory) exits 2', () => {
        sh(dir, 'npx', ['--no', '--', 'wal', 'verify'], 2);
      });
      // As `npm install -g` of the CLI would, into a temp prefix: the @wal
      // tarballs it needs are named together, so npm takes them from there.
      step('npm install -g of the CLI (temp prefix), then wal verify by its shebang', () => {
        const prefix = path.join(work, 'global');
        const tarballs = closure(['@wal/cli'], packages).map((name) => byName.get(name).tarball);
        sh(work, 'npm', ['install', '-g', '--prefix', prefix, '--loglevel=error', ...tarballs]);
        const wal = path.join(prefix, 'bin', 'wal');
        sh(dir, wal, ['verify', 'log']);
        sh(dir, wal, ['verify', 'damaged'], 1);
        return `${path.relative(work, wal)} verify: log 0, damaged 1`;
      });
    }
  }
} catch (error) {
  failed = true;
  console.log(`\n${error instanceof StepError ? error.message : (error?.stack ?? error)}`);
} finally {
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (failed || keep) console.log(`\nkept ${work}`);
  else rmSync(work, { recursive: true, force: true });
  console.log(
    failed ? `\ntest:consumer failed (${seconds} s)` : `\ntest:consumer passed (${seconds} s)`,
  );
  process.exitCode = failed ? 1 : 0;
}
