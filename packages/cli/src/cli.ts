import fs from 'node:fs';
import { nodeFs } from '@wal/fs';
import { translateAdvice } from './advice.js';
import { type CommandLine, parseCommand } from './args.js';
import { type Command, type Context, Exit } from './command.js';
import { dump } from './commands/dump.js';
import { inspect } from './commands/inspect.js';
import { repair } from './commands/repair.js';
import { stats } from './commands/stats.js';
import { verify } from './commands/verify.js';
import { CommandError, exitCodeOf, isExplained, permissionMessage, UsageError } from './errors.js';
import { type Io, Output } from './output.js';

const COMMANDS: Command[] = [inspect, dump, verify, repair, stats];

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `Usage: wal <command> <dir|file> [options]

Inspect, dump, verify and repair an @wal write-ahead log.

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

dump, verify and stats also read one segment file alone (a segment, a copy
in quarantine/<n>/, or a wal_N.log.broken).

Options:
  -h, --help     help (also: wal <command> --help, wal help <command>)
  -v, --version  the version
  --json         on every command: the result as JSON (dump: JSON Lines)
  --debug        stack traces and causes on errors

Exit status:
  0  ok
  1  damage found: by verify, stopping dump or stats, shown by dump --frames
  2  usage error: an unknown command or option, a bad value
  3  failure: no log at the path, permission denied, an I/O error, the
     writer holds the lock (repair)
Colour only on a terminal, never with NO_COLOR set.`;
}

function version(): string {
  const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  return String(pkg.version);
}

/** Runs `wal` with `argv` (without node and the script); resolves to the exit code. */
export async function main(argv: string[], io: Io): Promise<number> {
  const context: Context = { out: new Output(io), fs: io.fs ?? nodeFs };
  // `--debug` may come before the command too: there it can be no option's value.
  const lead = argv.findIndex((a) => a !== '--debug');
  const [name, ...rest] = lead === -1 ? [] : argv.slice(lead);
  let debug = argv[0] === '--debug';
  const command = COMMANDS.find((c) => c.name === name);
  let code: number;
  try {
    if (command) {
      const line = parseCommand(command.name, rest, command.options);
      debug ||= line.values.debug === true;
      code = await runCommand(command, line, context);
    } else {
      // Help and version take no option values: any `--debug` among their words is the flag.
      debug ||= rest.includes('--debug');
      code = await topLevel(
        name,
        rest.filter((a) => a !== '--debug'),
        context.out,
      );
    }
  } catch (error) {
    report(context, error, command, debug);
    code = exitCodeOf(error);
  }
  // Output lost to a full disk is a failure, whatever the command found: a
  // `wal dump log > backup` that could not be written says so. A reader
  // that went away (EPIPE) leaves the command's own exit code.
  const failure = context.out.failure;
  if (failure === null) return code;
  report(context, outputError(failure), command, debug);
  return Exit.FAILED;
}

function outputError(error: NodeJS.ErrnoException): CommandError {
  const found = error.code && !error.message.startsWith(error.code) ? `${error.code}: ` : '';
  return new CommandError(`expected to write the output, found ${found}${error.message}`, {
    cause: error,
  });
}

async function runCommand(command: Command, line: CommandLine, context: Context): Promise<number> {
  if (!line.values.help) return await command.run(line, context);
  await context.out.line(command.help);
  return Exit.OK;
}

// `wal`, `wal --help [command]`, `wal help [command]`, `wal --version`, or no command at all.
async function topLevel(name: string | undefined, rest: string[], out: Output): Promise<number> {
  if (name === undefined) throw new UsageError('expected a command, found none');
  if (name === '-h' || name === '--help' || name === 'help') {
    await out.line(helpTopic(rest));
    return Exit.OK;
  }
  if (name === '-v' || name === '--version') {
    if (rest.length > 0) {
      throw new UsageError(
        `${name}: expected no arguments, found ${rest.length} (${rest.join(' ')})`,
      );
    }
    await out.line(version());
    return Exit.OK;
  }
  throw new UsageError(`expected a command (${names()}), found '${name}'`);
}

const names = () => COMMANDS.map((c) => c.name).join(', ');

// `wal help`, `wal help dump`; `wal help bogus` is a usage error.
function helpTopic(rest: string[]): string {
  const [topic, ...extra] = rest;
  if (topic === undefined) return help();
  const command = COMMANDS.find((c) => c.name === topic);
  if (!command) throw new UsageError(`help: expected a command (${names()}), found '${topic}'`);
  if (extra.length > 0) {
    throw new UsageError(`help: expected one command, found ${rest.length} (${rest.join(' ')})`);
  }
  return command.help;
}

// One line, whatever went wrong: the operator's terminal, and scripts reading
// stderr, get the message and never a stack (unless --debug).
function report(context: Context, error: unknown, command: Command | undefined, debug: boolean) {
  const { out } = context;
  const raw = String((error as Error)?.message ?? error).replace(/\s*\n\s*/g, ' ');
  const message = permissionMessage(error, context.target) ?? translateAdvice(raw, context.target);
  let hint = '';
  if (error instanceof UsageError) {
    if (error.help) hint = ` (see 'wal ${command ? `${command.name} ` : ''}--help')`;
  } else if (!debug && !isExplained(error)) {
    hint = ' (run with --debug for details)';
  }
  out.error(`wal: ${out.styleErr('red', message)}${hint}`);
  if (debug && !(error instanceof UsageError)) {
    for (let e: unknown = error; e; e = (e as { cause?: unknown }).cause) {
      out.error(String((e as Error).stack ?? e));
    }
  }
}
