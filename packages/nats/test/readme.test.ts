// The README's examples need a NATS server, so apps/docs-check (part of
// `pnpm test`, which has none) lists them as no-run. This runs them, in order
// in one directory, against the test cluster, as a user would, and checks
// what they print against the README's own `// …` comments.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, expect, test } from 'vitest';
import { cluster, connectCluster, tempDir } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../..');
const tsx = pathToFileURL(path.join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
// Inside the package, so `@wal/nats` and its dependencies resolve as for a consumer.
const examplesDir = path.join(here, '.readme-examples');
afterAll(() => rmSync(examplesDir, { recursive: true, force: true }));

function examples(markdown: string): string[] {
  const found = [...markdown.matchAll(/^```ts no-run\n([\s\S]*?)^```$/gm)].map(
    (m) => m[1] as string,
  );
  if (found.length === 0) throw new Error('expected ```ts no-run blocks in the README');
  return found;
}

/** What the example says it prints: the `// …` comment of each console.log line. */
function expectedOutput(code: string): string[] {
  return code
    .split('\n')
    .filter((line) => line.includes('console.log('))
    .map((line) => (/\/\/ (.*)$/.exec(line)?.[1] ?? '').trim());
}

function run(file: string, cwd: string): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=@wal/source', '--import', tsx, file], {
      cwd,
      env: { ...process.env, NATS_URL: cluster().servers.join(',') },
    });
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.stderr.on('data', (chunk) => {
      out += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ status: code, output: out }));
  });
}

test('the examples run, in order, against a three-node cluster and print what they say', async () => {
  const blocks = examples(readFileSync(path.join(here, '..', 'README.md'), 'utf8'));
  const nc = await connectCluster();
  const jsm = await jetstreamManager(nc);
  // The examples' names are fixed: start from none, as on a fresh cluster.
  const names = ['orders', 'OBJ_orders-segments'];
  for (const name of names) await jsm.streams.delete(name).catch(() => false);
  mkdirSync(examplesDir, { recursive: true });
  const cwd = tempDir();
  for (const [i, code] of blocks.entries()) {
    const file = path.join(examplesDir, `example-${i}.ts`);
    writeFileSync(file, code);
    const { status, output } = await run(file, cwd);
    expect(status, output).toBe(0);
    expect(output.trim().split('\n')).toEqual(expectedOutput(code));
  }
  for (const name of names) await jsm.streams.delete(name);
});
