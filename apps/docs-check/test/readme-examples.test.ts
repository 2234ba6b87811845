// Runs every fenced `ts` and `js` example of the root README and of each
// packages/*/README.md, so the docs cannot rot.
//
// - Each example is written to apps/docs-check/.examples/ (so `@wal/*`
//   resolves through this package's workspace dependencies) and run with
//   `node --conditions=@wal/source --import tsx`: from source, no build needed.
// - Its working directory is a fresh temp directory, one per README, shared by
//   that README's examples in order (a later example may read what an earlier
//   one wrote). Examples that need a log should use a relative path.
// - It passes when it exits 0 within the timeout; its output is shown if not.
// - A fence whose info string says `no-run` (```ts no-run) is a fragment, or
//   needs what `pnpm test` does not start: it is left out, not run here.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const root = path.resolve(packageDir, '../..');
const examplesDir = path.join(packageDir, '.examples');
const tsx = pathToFileURL(path.join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const TIMEOUT_MS = 60_000;

const LANGUAGES: Record<string, '.ts' | '.mjs'> = {
  ts: '.ts',
  typescript: '.ts',
  mts: '.ts',
  js: '.mjs',
  javascript: '.mjs',
  mjs: '.mjs',
};

interface Example {
  /** 1-based line of the opening fence. */
  line: number;
  extension: '.ts' | '.mjs';
  code: string;
  skip: boolean;
}

/** The fenced ts/js blocks of a Markdown document (``` or ~~~, indented or not). */
function extractExamples(markdown: string): Example[] {
  const examples: Example[] = [];
  const lines = markdown.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const open = /^( {0,3})(`{3,}|~{3,})\s*([^\s`]*)(.*)$/.exec(lines[i] ?? '');
    if (!open) continue;
    const [, indent = '', fence = '', info = '', meta = ''] = open;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const close = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(lines[j] ?? '')?.[1] ?? '';
      if (close[0] === fence[0] && close.length >= fence.length) break;
      body.push((lines[j] ?? '').replace(new RegExp(`^ {0,${indent.length}}`), ''));
    }
    const extension = LANGUAGES[info.toLowerCase()];
    if (extension) {
      examples.push({
        line: i + 1,
        extension,
        code: `${body.join('\n')}\n`,
        skip: /(^|\s)no-run(\s|$)/.test(meta),
      });
    }
    i = j;
  }
  return examples;
}

function readmes(): string[] {
  const found = [path.join(root, 'README.md')];
  for (const name of readdirSync(path.join(root, 'packages')).sort()) {
    const file = path.join(root, 'packages', name, 'README.md');
    try {
      readFileSync(file);
      found.push(file);
    } catch {
      // A package without a README has no examples (lint:packages requires one).
    }
  }
  return found;
}

/** Runs an example (or, with `args`, a plain script) and collects its output. */
function run(
  file: string,
  cwd: string,
  args?: string[],
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const argv = args ? [file, ...args] : ['--conditions=@wal/source', '--import', tsx, file];
    const child = spawn(process.execPath, argv, {
      cwd,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS - 5_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('extractExamples', () => {
  it('finds ts and js fences, keeps their lines, skips no-run and other languages', () => {
    const markdown = [
      '# x', // 1
      '```ts', // 2
      'const a = 1;', // 3
      '```', // 4
      '```sh', // 5
      'npm i', // 6
      '```', // 7
      '- item', // 8
      '  ```js', // 9
      '  console.log(1);', // 10
      '  ```', // 11
      '````ts no-run', // 12
      '```', // 13
      'fragment();', // 14
      '````', // 15
    ].join('\n');
    expect(extractExamples(markdown)).toEqual([
      { line: 2, extension: '.ts', code: 'const a = 1;\n', skip: false },
      { line: 9, extension: '.mjs', code: 'console.log(1);\n', skip: false },
      { line: 12, extension: '.ts', code: '```\nfragment();\n', skip: true },
    ]);
  });
});

rmSync(examplesDir, { recursive: true, force: true });
mkdirSync(examplesDir, { recursive: true });
const temps: string[] = [];
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});
const typed: string[] = [];

// Collected (and written out) before any describe() body runs.
const suites = readmes().map((readme) => {
  const relative = path.relative(root, readme).split(path.sep).join('/');
  const slug = relative.replace(/\/?README\.md$/, '').replace(/[^\w]+/g, '-') || 'root';
  const examples = extractExamples(readFileSync(readme, 'utf8')).map((example) => {
    const file = path.join(examplesDir, `${slug}-line-${example.line}${example.extension}`);
    if (!example.skip) {
      writeFileSync(file, example.code);
      if (example.extension === '.ts') typed.push(path.basename(file));
    }
    return { ...example, file };
  });
  return { relative, examples };
});

for (const { relative, examples } of suites) {
  if (examples.every((example) => example.skip)) continue;
  describe(relative, () => {
    let cwd: string | undefined;
    for (const example of examples) {
      // The README in the name too: reporters often show only the test's own title.
      const title = `example at ${relative}:${example.line}`;
      // A no-run fence is not an example here (the nats README's, for one,
      // needs a server: `pnpm test:nats` runs it against the cluster).
      if (example.skip) continue;
      it(
        title,
        async () => {
          if (cwd === undefined) {
            cwd = mkdtempSync(path.join(os.tmpdir(), 'wal-readme-'));
            temps.push(cwd);
          }
          const { code, output } = await run(example.file, cwd);
          expect(code, `${relative}:${example.line} exited ${code}:\n${output}`).toBe(0);
        },
        TIMEOUT_MS,
      );
    }
  });
}

// The same ts examples also typecheck, as a consumer's strict nodenext project
// would see them (from source, through the @wal/source condition). File names
// in errors are <package>-line-<line of the fence>.ts.
describe.runIf(typed.length > 0)('the ts examples', () => {
  it(
    'typecheck',
    async () => {
      const tsconfig = {
        compilerOptions: {
          target: 'es2023',
          lib: ['es2023'],
          module: 'nodenext',
          moduleResolution: 'nodenext',
          customConditions: ['@wal/source'],
          types: ['node'],
          strict: true,
          noEmit: true,
          skipLibCheck: true,
        },
        files: typed,
      };
      writeFileSync(path.join(examplesDir, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
      const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
      const { code, output } = await run(tsc, examplesDir, ['-p', 'tsconfig.json']);
      expect(code, output).toBe(0);
    },
    TIMEOUT_MS,
  );
});
