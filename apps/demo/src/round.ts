import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const WRITER = fileURLToPath(new URL('./writer.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

/** What the parent saw of one writer's life. */
export interface WriterRun {
  /** The sequence the writer opened at (null if it died before opening). */
  openedAt: number | null;
  /** Highest acknowledged sequence; acks arrive in order, so all below are acknowledged too. */
  lastAcked: number | null;
}

/**
 * Starts a writer child on `dir`, lets it append for `runMs` after it has
 * opened, then kills it with SIGKILL. Acks that were in flight when it died
 * are lost, which only makes the parent's check stricter.
 */
export function runWriter(
  dir: string,
  seed: number,
  round: number,
  runMs: number,
): Promise<WriterRun> {
  return new Promise((resolve, reject) => {
    const child = fork(WRITER, [dir, String(seed), String(round)], {
      execArgv: ['--conditions=@wal/source', '--import', TSX],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const run: WriterRun = { openedAt: null, lastAcked: null };
    let killed = false;
    const failSafe = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('message', (message: { kind: string; nextSequence?: number; last?: number }) => {
      if (message.kind === 'ready') {
        run.openedAt = message.nextSequence ?? null;
        setTimeout(() => {
          killed = true;
          child.kill('SIGKILL');
        }, runMs);
      } else if (message.kind === 'ack' && message.last !== undefined) {
        run.lastAcked = Math.max(run.lastAcked ?? -1, message.last);
      }
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(failSafe);
      if (killed && signal === 'SIGKILL') resolve(run);
      else reject(new Error(`writer exited on its own (code ${code}, signal ${signal})`));
    });
  });
}
