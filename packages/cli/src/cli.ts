import fs from 'node:fs';
import { WalError } from '@wal/codec';
import { type Command, Exit } from './command.js';
import { dump } from './commands/dump.js';
import { inspect } from './commands/inspect.js';
import { repair } from './commands/repair.js';
import { stats } from './commands/stats.js';
import { verify } from './commands/verify.js';
import { CommandError, UsageError } from './errors.js';
import { type Io, Output } from './output.js';

const COMMANDS: Command[] = [inspect, dump, verify, repair, stats];

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `Usage: wal <command> <dir> [options]

Inspect, dump, verify and repair an @wal write-ahead log.

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Options:
  -h, --help     help (also: wal <command> --help, wal help <command>)
  -v, --version  the version
  --debug        stack traces and causes on errors

Exit status: 0 ok, 1 damage found or the operation failed, 2 usage error
(a bad option, or a path that is not a log directory).
Colour only on a terminal, never with NO_COLOR set.`;
}

function version(): string {
  const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  return String(pkg.version);
}

/** Runs `wal` with `argv` (without node and the script); resolves to the exit code. */
export async function main(argv: string[], io: Io): Promise<number> {
  const out = new Output(io);
  // A global flag: accepted before or after the command.
  const debug = argv.includes('--debug');
  const [name, ...rest] = argv.filter((a) => a !== '--debug');
  const command = COMMANDS.find((c) => c.name === name);
  try {
    if (name === undefined) throw new UsageError('expected a command, found none');
    if (name === '-h' || name === '--help' || name === 'help') {
      const topic = COMMANDS.find((c) => c.name === rest[0]);
      await out.line(topic ? topic.help : help());
      return Exit.OK;
    }
    if (name === '-v' || name === '--version') {
      await out.line(version());
      return Exit.OK;
    }
    if (!command) {
      throw new UsageError(
        `expected a command (${COMMANDS.map((c) => c.name).join(', ')}), found '${name}'`,
      );
    }
    if (rest.includes('-h') || rest.includes('--help')) {
      await out.line(command.help);
      return Exit.OK;
    }
    return await command.run(rest, out);
  } catch (error) {
    // One line, whatever went wrong: the operator's terminal, and scripts
    // reading stderr, get the message and never a stack (unless --debug).
    const message = String((error as Error)?.message ?? error).replace(/\s*\n\s*/g, ' ');
    let hint = '';
    if (error instanceof UsageError) {
      if (error.help) hint = ` (see 'wal ${command ? `${command.name} ` : ''}--help')`;
    } else if (!debug && !WalError.isInstance(error) && !(error instanceof CommandError)) {
      hint = ' (run with --debug for details)';
    }
    out.error(`wal: ${out.styleErr('red', message)}${hint}`);
    if (debug && !(error instanceof UsageError)) {
      for (let e: unknown = error; e; e = (e as { cause?: unknown }).cause) {
        out.error(String((e as Error).stack ?? e));
      }
    }
    return error instanceof UsageError ? Exit.USAGE : Exit.FAILED;
  }
}
