// The README's opening example needs a NATS server, so apps/docs-check (part
// of `pnpm test`, which has none) lists it as no-run. This runs it against the
// test cluster, as a user would, and checks what it prints against the
// README's own `// …` comments.
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
const examples = path.join(here, '.readme-examples');
afterAll(() => rmSync(examples, { recursive: true, force: true }));

function firstExample(markdown: string): string {
  const match = /^```ts no-run\n([\s\S]*?)^```$/m.exec(markdown);
  if (!match) throw new Error('expected a ```ts no-run block in the README');
  return match[1] as string;
}

/** What the example says it prints: the `// …` comment of each console.log line. */
function expectedOutput(code: string): string[] {
  return code
    .split('\n')
    .filter((line) => line.includes('console.log('))
    .map((line) => (/\/\/ (.*)$/.exec(line)?.[1] ?? '').trim());
}

test('the opening example runs against a three-node cluster and prints what it says', async () => {
  const code = firstExample(readFileSync(path.join(here, '..', 'README.md'), 'utf8'));
  const nc = await connectCluster();
  const jsm = await jetstreamManager(nc);
  // The example's stream name is fixed: start from none, as on a fresh cluster.
  await jsm.streams.delete('orders').catch(() => false);
  mkdirSync(examples, { recursive: true });
  const file = path.join(examples, 'opening.ts');
  writeFileSync(file, code);
  const { status, output } = await new Promise<{ status: number | null; output: string }>(
    (resolve, reject) => {
      const child = spawn(process.execPath, ['--conditions=@wal/source', '--import', tsx, file], {
        cwd: tempDir(),
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
    },
  );
  expect(status, output).toBe(0);
  expect(output.trim().split('\n')).toEqual(expectedOutput(code));
  await jsm.streams.delete('orders');
});
