/**
 * A writer of the open/close churn test: opens the log in argv[2] over and
 * over (sync 'always'; WAL_LOCKED means another process has it, so it waits
 * a little and tries again), appends one to three puts whose key and value
 * are `<pid>:<n>`, and closes. It prints `ready` once loaded, `ack <sequence>
 * <key>` as each put resolves (stdout on a pipe is synchronous, so a printed
 * ack reached the parent before any kill), and `error <code> <message>` for
 * any other failure. Stops after the current round on SIGTERM.
 *
 * Uses only Wal.open, put and close, so it runs on the writer of any version.
 */
import { Wal } from '@wal/fs';

const dir = process.argv[2] as string;
const say = (line: string) => process.stdout.write(`${line}\n`);
const pause = () => new Promise((resolve) => setTimeout(resolve, Math.random() * 3));

let stopping = false;
process.on('SIGTERM', () => {
  stopping = true;
});
say('ready');
let n = 0;
while (!stopping) {
  let wal: Wal;
  try {
    wal = await Wal.open({ dir, sync: 'always', maxSegmentBytes: 4096 });
  } catch (error) {
    const { code, message } = error as { code?: string; message: string };
    if (code !== 'WAL_LOCKED') say(`error ${code} ${message.replaceAll('\n', ' ')}`);
    await pause();
    continue;
  }
  try {
    for (let i = 0, count = 1 + Math.floor(Math.random() * 3); i < count; i++) {
      const key = `${process.pid}:${n++}`;
      say(`ack ${await wal.put(key, key)} ${key}`);
    }
  } catch (error) {
    const { code, message } = error as { code?: string; message: string };
    say(`error ${code} ${message.replaceAll('\n', ' ')}`);
  }
  await wal.close();
  await pause();
}
