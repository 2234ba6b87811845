import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll } from 'vitest';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../..');
const tsx = pathToFileURL(path.join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

/** A fixture process (test/fixtures/<name>.ts), its stdout as lines. */
export interface Fixture {
  child: ChildProcess;
  /** Every stdout line so far. */
  lines: string[];
  /** Resolves once a line matches (rejects if the process exits first). */
  waitFor(match: (line: string, lines: string[]) => boolean, what: string): Promise<void>;
  /** SIGKILLs the process and waits for it to exit. */
  kill(): Promise<void>;
  /** Resolves with the exit code (output attached when it is not 0). */
  exited: Promise<number | null>;
}

export function startFixture(name: string, options: unknown): Fixture {
  const child = spawn(
    process.execPath,
    [
      '--conditions=@wal/source',
      '--import',
      tsx,
      path.join(here, 'fixtures', `${name}.ts`),
      JSON.stringify(options),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  const lines: string[] = [];
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const listeners = new Set<() => void>();
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    lines.push(line);
    for (const listener of listeners) listener();
  });
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => {
      for (const listener of listeners) listener();
      resolve(code);
    });
  });
  return {
    child,
    lines,
    exited,
    waitFor(match, what) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (lines.some((line) => match(line, lines))) {
            listeners.delete(check);
            resolve();
          } else if (child.exitCode !== null || child.signalCode !== null) {
            listeners.delete(check);
            reject(
              new Error(
                `expected ${what} from ${name}, found it exited (${child.exitCode ?? child.signalCode}):\n${stderr}`,
              ),
            );
          }
        };
        listeners.add(check);
        check();
      });
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

/** The sequences a writer fixture printed as acknowledged. */
export function ackedSequences(lines: string[]): number[] {
  return lines.filter((l) => l.startsWith('acked ')).map((l) => Number(l.slice(6)));
}
