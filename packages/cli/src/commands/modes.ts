import type { RecoveryMode } from '@wal/recovery';

export const MODES = [
  'strict',
  'tolerate-tail',
  'point-in-time',
  'skip-corrupted',
] as const satisfies readonly RecoveryMode[];
