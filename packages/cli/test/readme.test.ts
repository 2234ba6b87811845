// The README shows what the CLI prints, and this keeps it so: its js
// examples run in order in a fresh directory (as apps/docs-check runs them),
// then every `console` transcript runs there, each `$ wal …` line compared
// with the lines under it (stdout, then stderr) and each `$ echo $?` with
// the exit code. In expected lines `…` stands for anything (a CRC, an
// absolute path). Besides what the examples write, the transcripts use:
// data/empty (an empty directory), data/private (a directory that may not
// be listed), data/locked (a copy of data/wal whose first segment may not be
// opened) and "# while the writer has it open" (a Wal holds the lock).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Wal } from '@wal/fs';
import { expect, test } from 'vitest';
import { failingFs } from './support/faulty-fs.js';
import { tempDir } from './support/logs.js';
import { lines, ROOT, run } from './support/run.js';

const README = path.join(import.meta.dirname, '../README.md');
const TSX = pathToFileURL(path.join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
// What the examples may import, as an installed package would resolve it.
const PACKAGES = ['codec', 'fs', 'recovery'];

interface Block {
  info: string;
  line: number;
  body: string[];
}

function blocks(markdown: string): Block[] {
  const found: Block[] = [];
  const all = markdown.split('\n');
  for (let i = 0; i < all.length; i++) {
    const open = /^```(\w*)/.exec(all[i] as string);
    if (!open) continue;
    const body: string[] = [];
    let j = i + 1;
    for (; all[j] !== '```'; j++) body.push(all[j] as string);
    found.push({ info: open[1] as string, line: i + 1, body });
    i = j;
  }
  return found;
}

interface Step {
  command: string;
  comment: string;
  expected: string[];
}

function steps(block: Block): Step[] {
  const out: Step[] = [];
  for (const l of block.body) {
    const m = /^\$ (.*?)(?:\s+# (.*))?$/.exec(l);
    if (m) out.push({ command: m[1] as string, comment: m[2] ?? '', expected: [] });
    else out.at(-1)?.expected.push(l);
  }
  return out;
}

/** An expected line as a pattern: `…` matches anything, the rest literally. */
const pattern = (expected: string) =>
  new RegExp(
    `^${expected
      .split('…')
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );

function runExample(file: string, cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=@wal/source', '--import', TSX, file], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stderr.on('data', (d) => {
      output += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

test('the README: its examples run, and every transcript is what the CLI prints', async () => {
  const cwd = fs.realpathSync(tempDir());
  for (const name of PACKAGES) {
    fs.mkdirSync(path.join(cwd, 'node_modules/@wal'), { recursive: true });
    fs.symlinkSync(path.join(ROOT, 'packages', name), path.join(cwd, 'node_modules/@wal', name));
  }
  const all = blocks(fs.readFileSync(README, 'utf8'));
  const examples = all.filter((b) => b.info === 'js');
  expect(examples.length).toBeGreaterThanOrEqual(2);
  // The README opens with a runnable example.
  expect(all[0]).toBe(examples[0]);
  for (const example of examples) {
    const file = path.join(cwd, `example-line-${example.line}.mjs`);
    fs.writeFileSync(file, `${example.body.join('\n')}\n`);
    const { code, output } = await runExample(file, cwd);
    expect(code, `README.md:${example.line}: ${output}`).toBe(0);
  }
  fs.mkdirSync(path.join(cwd, 'data/empty'));
  fs.mkdirSync(path.join(cwd, 'data/private'));
  fs.cpSync(path.join(cwd, 'data/wal'), path.join(cwd, 'data/locked'), { recursive: true });
  const fsWithPrivate = failingFs(
    'open',
    'EACCES',
    (p) => p === path.join(cwd, 'data/locked/wal_00000000.log'),
    failingFs('readdir', 'EACCES', (p) => p === path.join(cwd, 'data/private')),
  );

  const transcripts = all.filter((b) => b.info === 'console');
  expect(transcripts.length).toBeGreaterThan(5);
  const before = process.cwd();
  process.chdir(cwd);
  try {
    for (const block of transcripts) {
      let code: number | undefined;
      for (const { command, comment, expected } of steps(block)) {
        const where = `README.md:${block.line}: $ ${command}`;
        if (command === 'echo $?') {
          expect(expected, where).toEqual([String(code)]);
          continue;
        }
        // Set-up steps the js examples stand for.
        if (command === 'npm install @wal/fs @wal/cli' || command === 'node make-log.mjs') continue;
        const argv = command.replace(/^npx /, '').split(/\s+/);
        expect(argv[0], where).toBe('wal');
        let writer: Wal | undefined;
        if (comment === 'while the writer has it open')
          writer = await Wal.open(argv.at(-1) as string);
        try {
          const r = await run(argv.slice(1), { fs: fsWithPrivate });
          code = r.code;
          const shown = [...lines(r.stdout), ...lines(r.stderr)];
          expect(shown.length, `${where}\n${shown.join('\n')}`).toBe(expected.length);
          shown.forEach((l, i) => {
            expect(l, where).toMatch(pattern(expected[i] as string));
          });
        } finally {
          await writer?.close();
        }
      }
    }
  } finally {
    process.chdir(before);
  }
}, 60_000);
