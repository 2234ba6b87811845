// A copy of `wal` that any user can run: another user may not be able to read
// the checkout (a mode-700 home directory) or the node binary (npx's cache
// under it), so nothing here points back into either.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { BIN } from './run.js';

export interface PortableCli {
  /** A world-readable directory holding everything below. */
  dir: string;
  /** The node binary, linked or copied into `dir`. */
  node: string;
  /** The CLI's sources and the workspace packages it imports, bundled into one file. */
  script: string;
}

/** The package `name` as `from` resolves it: the nearest node_modules/`name` above it. */
function findPackage(from: string, name: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (fs.existsSync(candidate)) return fs.realpathSync(candidate);
    if (dir === path.dirname(dir)) throw new Error(`expected ${name} below ${from}, found none`);
  }
}

/**
 * Copies the third-party dependencies of the package in `pkgDir`, and theirs,
 * into `modules`. Workspace dependencies are in the bundle, but theirs are
 * copied too. A copy, not the bundle, because a package may load one at run
 * time (`createRequire`), out of a bundler's sight.
 */
function copyDependencies(pkgDir: string, modules: string, seen = new Set<string>()): void {
  const manifest = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
  const dependencies: Record<string, string> = manifest.dependencies ?? {};
  for (const [name, range] of Object.entries(dependencies)) {
    if (seen.has(name)) continue;
    seen.add(name);
    const dir = findPackage(pkgDir, name);
    if (!range.startsWith('workspace:')) {
      fs.cpSync(dir, path.join(modules, name), { recursive: true, dereference: true });
    }
    copyDependencies(dir, modules, seen);
  }
}

/**
 * Makes `dir` and everything in it readable (directories also searchable) by
 * anyone, whatever the umask. Only missing bits are added: the node binary may
 * be a hard link, sharing its mode with the original.
 */
function openToAll(dir: string): void {
  const files = fs.readdirSync(dir, { recursive: true, encoding: 'utf8' });
  for (const file of [dir, ...files.map((f) => path.join(dir, f))]) {
    const stat = fs.statSync(file);
    const mode = stat.mode & 0o7777;
    const wanted = mode | (stat.isDirectory() ? 0o555 : 0o444);
    if (wanted !== mode) fs.chmodSync(file, wanted);
  }
}

/** Builds a portable CLI in a fresh temp dir; the caller removes `dir`. */
export async function portableCli(): Promise<PortableCli> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-cli-portable-'));
  const script = path.join(dir, 'wal.mjs');
  await build({
    entryPoints: [BIN],
    outfile: script,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: `node${process.versions.node}`,
    conditions: ['@wal/source'],
    // Workspace packages are bundled from source; anything else is copied.
    plugins: [
      {
        name: 'third-party-external',
        setup(b) {
          b.onResolve({ filter: /^[^./]/ }, (args) =>
            args.path.startsWith('@wal/') ? undefined : { external: true },
          );
        },
      },
    ],
    logLevel: 'error',
  });
  copyDependencies(path.dirname(path.dirname(BIN)), path.join(dir, 'node_modules'));
  const node = path.join(dir, 'node');
  try {
    fs.linkSync(process.execPath, node);
  } catch {
    fs.copyFileSync(process.execPath, node);
  }
  openToAll(dir);
  return { dir, node, script };
}
