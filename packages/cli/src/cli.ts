import fs from 'node:fs';
import { WalError } from '@wal/codec';
import { UsageError } from './args.js';
import { type Command, Exit } from './command.js';
import { dump } from './commands/dump.js';
import { inspect } from './commands/inspect.js';
import { repair } from './commands/repair.js';
import { stats } from './commands/stats.js';
import { verify } from './commands/verify.js';
import { type Io, Output } from './output.js';

const COMMANDS: Command[] = [inspect, dump, verify, repair, stats];

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `Usage: wal <command> <dir> [options]

Inspect, dump, verify and repair an @wal write-ahead log.

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Options:
  -h, --help     help (also: wal <command> --help)
  -v, --version  the version
  --debug        stack traces and causes on errors

Exit status: 0 ok, 1 damage found or the operation failed, 2 usage error.`;
}

function version(): string {
  const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  return String(pkg.version);
}

/** Runs `wal` with `argv` (without node and the script); resolves to the exit code. */
export async function main(argv: string[], io: Io): Promise<number> {
  const out = new Output(io);
  const debug = argv.includes('--debug');
  const [name, ...rest] = argv;
  try {
    if (name === undefined) throw new UsageError('expected a command, found none');
    if (name === '-h' || name === '--help' || name === 'help') {
      await out.line(help());
      return Exit.OK;
    }
    if (name === '-v' || name === '--version') {
      await out.line(version());
      return Exit.OK;
    }
    const command = COMMANDS.find((c) => c.name === name);
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
    out.error(`wal: ${out.styleErr('red', (error as Error).message ?? String(error))}`);
    if (error instanceof UsageError) {
      out.error(
        `Run 'wal ${name && COMMANDS.some((c) => c.name === name) ? `${name} ` : ''}--help' for usage.`,
      );
      return Exit.USAGE;
    }
    if (debug) {
      for (let e: unknown = error; e; e = (e as { cause?: unknown }).cause) {
        out.error(String((e as Error).stack ?? e));
      }
    } else if (
      !WalError.isInstance(error) &&
      !(error as Error).message?.includes('permission denied')
    ) {
      out.error('(run with --debug for details)');
    }
    return Exit.FAILED;
  }
}
