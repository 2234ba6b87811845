// Shared by scripts/lint-packages.mjs and scripts/test-consumer.mjs: find the
// publishable packages, pack them the way `pnpm publish` would, and read the
// tarballs back without extracting them.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const rootManifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
/** `pnpm@x.y.z`, from the root's `packageManager`. */
export const pnpmSpec = rootManifest.packageManager;

/**
 * The workspace's publishable packages (packages/*, not private), with their
 * source manifests.
 */
export function publicPackages() {
  const dir = path.join(root, 'packages');
  const found = [];
  for (const name of readdirSync(dir).sort()) {
    let manifest;
    try {
      manifest = JSON.parse(readFileSync(path.join(dir, name, 'package.json'), 'utf8'));
    } catch {
      continue;
    }
    if (manifest.private) continue;
    found.push({ name: manifest.name, dir: path.join(dir, name), manifest });
  }
  return found;
}

/** Runs pnpm (the version the root pins) and returns its stdout. */
export function pnpm(args, options = {}) {
  try {
    return execFileSync('npx', ['-y', pnpmSpec, ...args], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
      ...options,
    });
  } catch (error) {
    const output = `${error.stdout ?? ''}${error.stderr ?? ''}`
      .split('\n')
      .filter((line) => !/Unknown (user|env) config/.test(line))
      .join('\n')
      .trim();
    throw new Error(`pnpm ${args.join(' ')} failed (exit ${error.status}):\n${output}`);
  }
}

/**
 * Builds every package (turbo: a no-op when dist/ is up to date), so the
 * tarballs never hold a stale dist/. Returns turbo's summary line.
 */
export function build() {
  const out = pnpm(['build']);
  return (out.match(/Tasks:.*$/m)?.[0] ?? '').replace(/\s+/g, ' ').trim();
}

/**
 * Packs every publishable package into `destination` with `pnpm pack`, which
 * rewrites `workspace:` ranges and runs the `beforePacking` hook of
 * .pnpmfile.cjs (it strips the `@wal/source` condition). Needs a build (see
 * {@link build}): the tarballs hold dist/. Returns, per package, the tarball path and what is in it.
 */
export function packAll(destination) {
  const packages = publicPackages();
  for (const pkg of packages) {
    const manifest = pkg.manifest;
    const targets = [...exportTargets(manifest.exports), ...Object.values(binMap(manifest))];
    const missing = targets.filter(
      (target) => target.startsWith('./dist/') && !existsInDir(pkg.dir, target),
    );
    if (missing.length > 0) {
      throw new Error(`${pkg.name}: ${missing.join(', ')} missing; run pnpm build first`);
    }
  }
  const filters = packages.flatMap((pkg) => ['--filter', pkg.name]);
  const json = pnpm(['-r', ...filters, 'pack', '--pack-destination', destination, '--json']);
  const reports = JSON.parse(json);
  return packages.map((pkg) => {
    const report = reports.find((r) => r.name === pkg.name);
    if (!report) throw new Error(`pnpm pack did not pack ${pkg.name}`);
    const tarball = report.filename;
    const entries = readTarball(tarball);
    const manifestEntry = entries.get('package.json');
    if (!manifestEntry) throw new Error(`${tarball} has no package.json`);
    return {
      ...pkg,
      tarball,
      entries,
      packed: JSON.parse(manifestEntry.data.toString('utf8')),
      packedBytes: readFileSync(tarball).length,
    };
  });
}

function existsInDir(dir, relative) {
  try {
    readFileSync(path.join(dir, relative));
    return true;
  } catch {
    return false;
  }
}

/** Every file path named by an `exports` map (any condition, any depth). */
export function exportTargets(exports) {
  if (typeof exports === 'string') return [exports];
  if (exports === null || typeof exports !== 'object') return [];
  return Object.values(exports).flatMap(exportTargets);
}

/** The `bin` field as a name → path map. */
export function binMap(manifest) {
  if (typeof manifest.bin === 'string') {
    return { [manifest.name.replace(/^@[^/]+\//, '')]: manifest.bin };
  }
  return manifest.bin ?? {};
}

/**
 * Reads a .tgz (ustar, as npm and pnpm write it) into a map from path
 * (without the leading `package/`) to `{ mode, data }`.
 */
export function readTarball(file) {
  const tar = gunzipSync(readFileSync(file));
  const entries = new Map();
  let offset = 0;
  let longName;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((byte) => byte === 0)) break;
    const field = (start, length) =>
      header
        .subarray(start, start + length)
        .toString('utf8')
        .replace(/\0.*$/s, '');
    const size = Number.parseInt(field(124, 12).trim() || '0', 8);
    const type = field(156, 1);
    const prefix = field(345, 155);
    let name = prefix ? `${prefix}/${field(0, 100)}` : field(0, 100);
    const data = tar.subarray(offset + 512, offset + 512 + size);
    offset += 512 + Math.ceil(size / 512) * 512;
    if (type === 'L') {
      longName = data.toString('utf8').replace(/\0.*$/s, '');
      continue;
    }
    if (type === 'x' || type === 'g') continue; // pax headers: plain names suffice here
    if (longName !== undefined) {
      name = longName;
      longName = undefined;
    }
    if (type !== '0' && type !== '') continue;
    entries.set(name.replace(/^[^/]+\//, ''), {
      mode: Number.parseInt(field(100, 8).trim() || '0', 8),
      data: Buffer.from(data),
    });
  }
  return entries;
}

/** `1234` → `1.2 kB`. */
export function formatBytes(bytes) {
  return bytes < 1000 ? `${bytes} B` : `${(bytes / 1000).toFixed(1)} kB`;
}
