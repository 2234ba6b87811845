import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { onTestFinished } from 'vitest';

/**
 * A fresh directory in the OS temp dir, removed when the current test ends
 * (call it inside a test). `prefix` names it, so a leftover says whose it was.
 */
export function tempDir(prefix = 'wal-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}
