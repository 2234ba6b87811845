import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const PACKAGE = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Bundles the child-process script `source` (a test/support file) from the
 * sources (the @wal/source condition) into a fresh temporary directory, so
 * each child starts in node's own start-up time, not tsx's compile of
 * @wal/fs. The lock's native addon stays a package, linked beside the bundle.
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
    external: ['fs-native-extensions'],
    logLevel: 'silent',
  });
  const walFs = fs.realpathSync(path.join(PACKAGE, 'node_modules', '@wal', 'fs'));
  const addon = createRequire(path.join(walFs, 'package.json')).resolve(
    'fs-native-extensions/package.json',
  );
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(path.dirname(addon), path.join(dir, 'node_modules', 'fs-native-extensions'));
  return { file, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
