import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const PACKAGE = fileURLToPath(new URL('../..', import.meta.url));

// Packages the bundle loads at run time, each with the @wal package that depends on it.
const LINKED: Record<string, string> = { 'fs-native-extensions': 'fs' };

/**
 * Bundles the child-process script `source` (a test/support file) from the
 * sources (the @wal/source condition) into a fresh temporary directory, so
 * each child starts in node's own start-up time, not tsx's compile of
 * @wal/fs. The lock's native addon (loaded through createRequire, which a
 * bundler leaves alone) stays a package, linked beside the bundle.
 * Returns the bundle's path and a function that removes it.
 */
export async function bundleScript(source: string): Promise<{ file: string; remove: () => void }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-child-'));
  const file = path.join(dir, `${path.basename(source, '.ts')}.mjs`);
  await build({
    entryPoints: [source],
    outfile: file,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['@wal/source'],
    external: Object.keys(LINKED),
    logLevel: 'silent',
  });
  fs.mkdirSync(path.join(dir, 'node_modules'));
  for (const [name, owner] of Object.entries(LINKED)) {
    const from = fs.realpathSync(path.join(PACKAGE, 'node_modules', '@wal', owner));
    const found = createRequire(path.join(from, 'package.json')).resolve(`${name}/package.json`);
    fs.symlinkSync(path.dirname(found), path.join(dir, 'node_modules', name));
  }
  return { file, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
