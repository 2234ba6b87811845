import { shellArg } from './output.js';
import { repairArg, type Target } from './target.js';

/**
 * The library's messages advise its own API ("mode 'point-in-time'",
 * "verify()", "repair()", "Wal.open"); an operator at the command line needs
 * the CLI's flags and commands instead. Each rule rewrites one phrase;
 * `test/advice.test.ts` feeds it the messages the library really produces,
 * so a reworded message that slips through fails there.
 */
export function translateAdvice(message: string, target: Target | undefined): string {
  const where = target ? shellArg(target.arg) : '<dir>';
  const repairDir = target ? repairArg(target) : null;
  const repair = repairDir === null ? 'wal repair on its log directory' : `wal repair ${repairDir}`;
  return (
    message
      // "recover with mode 'tolerate-tail' to drop it"
      .replace(/\brecover with mode '([a-z-]+)'/g, 'use --mode $1')
      // "open the log with Wal.open, which cuts it"
      .replace(
        /\bopen the log with Wal\.open, which cuts it/g,
        `cut it with ${repair} (the writer also cuts it when it opens the log)`,
      )
      .replace(/\(check the path; Wal\.open creates it\)/g, '(check the path)')
      // "mode 'point-in-time' or 'skip-corrupted'"
      .replace(/\bmode '([a-z-]+)'((?: or '[a-z-]+')*)/g, (_, first: string, more: string) =>
        [first, ...(more.match(/[a-z-]+/g) ?? []).filter((w) => w !== 'or')]
          .map((mode) => `--mode ${mode}`)
          .join(' or '),
      )
      // "in 'strict' mode"
      .replace(/'([a-z-]+)' mode\b/g, '--mode $1')
      // "pass `floor` (above every sequence ...)"
      .replace(/\bpass `floor`/g, 'pass --floor <n>')
      .replace(/\bverify\(\)/g, `wal verify ${where}`)
      .replace(/\brepair\(\)/g, repair)
  );
}
