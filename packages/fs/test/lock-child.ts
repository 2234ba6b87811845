// Starts a TypeScript helper of these tests as a child process (from sources,
// as the tests run) and reads its stdout line by line.
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { onTestFinished } from 'vitest';

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface Child {
  process: ChildProcess;
  pid: number;
  /** Resolves with the first line (past or future) that matches `pattern`. */
  line(pattern: RegExp): Promise<RegExpExecArray>;
  /** Resolves once the child has exited. */
  exited: Promise<void>;
}

/**
 * Runs `test/<script>` with `args`, under the command `wrapper` if given (its
 * words, ending where the node command line begins); killed with SIGKILL when
 * the test ends.
 */
export function startChild(
  script: string,
  args: string[],
  onLine?: (line: string) => void,
  wrapper: string[] = [],
) {
  const node = [process.execPath, '--conditions=@wal/source', '--import', 'tsx'];
  const [command = '', ...rest] = [...wrapper, ...node, path.join('test', script), ...args];
  const child = spawn(command, rest, { cwd: packageDir, stdio: ['ignore', 'pipe', 'pipe'] });
  onTestFinished(() => {
    child.kill('SIGKILL');
  });
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  let stderr = '';
  let pending = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  child.stdout.on('data', (d) => {
    pending += d;
    for (let i = pending.indexOf('\n'); i >= 0; i = pending.indexOf('\n')) {
      const line = pending.slice(0, i);
      pending = pending.slice(i + 1);
      lines.push(line);
      onLine?.(line);
      for (const wake of waiters) wake();
    }
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const line = (pattern: RegExp) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        for (const l of lines) {
          const match = pattern.exec(l);
          if (match) {
            waiters.delete(check);
            resolve(match);
            return;
          }
        }
      };
      waiters.add(check);
      check();
      exited.then(() => {
        check();
        reject(new Error(`child exited without printing ${pattern}: ${lines.join('|')} ${stderr}`));
      });
    });
  return { process: child, pid: child.pid as number, line, exited } satisfies Child;
}
