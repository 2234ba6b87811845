import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The native peers (better-sqlite3 compiles from source here) live outside the
// workspace install, so `pnpm install && pnpm test` never builds them. The
// first `pnpm bench` installs them from peers/package-lock.json.
const peersDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../peers');

export function ensurePeers(log: (line: string) => void): void {
  if (fs.existsSync(path.join(peersDir, 'node_modules', '.package-lock.json'))) return;
  log('installing bench peers (classic-level, better-sqlite3 builds from source: about a minute)');
  execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: peersDir,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

const requirePeer = createRequire(path.join(peersDir, 'package.json'));

/** Loads a peer package installed by {@link ensurePeers}. */
export function peer<T>(name: string): T {
  return requirePeer(name) as T;
}
