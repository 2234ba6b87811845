import { CorruptionError, type DamageReason } from '@wal/codec';
import type { Corruption, Gap, RecoveryMode } from './types.js';

/** The `WAL_CORRUPTION` a scan throws at damage its mode does not accept. */
export function damageError(
  dir: string,
  mode: RecoveryMode,
  damage: Corruption,
  torn: boolean,
): CorruptionError {
  const hint = torn
    ? `it is a torn tail (what a crash leaves), which '${mode}' mode refuses: recover with mode 'tolerate-tail' to drop it, or cut it with \`wal repair ${dir}\``
    : stopHint(dir, mode);
  const { file, offset, bytes, reason } = damage;
  return new CorruptionError(`${file} at offset ${offset}: ${damage.detail} (${reason}); ${hint}`, {
    file,
    offset,
    bytes,
    reason,
  });
}

/** The `WAL_CORRUPTION` a scan throws at a gap between segments. */
export function gapError(dir: string, mode: RecoveryMode, gap: Gap): CorruptionError {
  const reason: DamageReason =
    gap.kind === 'swapped' || gap.kind === 'foreign' ? 'bad-header' : 'bad-sequence';
  return new CorruptionError(
    `${gap.file}: ${gap.detail} (a ${gap.kind} segment); ${stopHint(dir, mode)}`,
    { file: gap.file, offset: 0, bytes: gap.bytes, reason },
  );
}

function stopHint(dir: string, mode: RecoveryMode): string {
  return `the log cannot be read past it in '${mode}' mode. See every problem with \`wal verify ${dir}\`, cut the damage with \`wal repair ${dir}\` (it keeps every cut byte), or read what is intact with mode 'point-in-time' or 'skip-corrupted'`;
}
