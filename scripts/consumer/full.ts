// Scenario (c): the types of the full stack together.

import { Exit, main } from '@wal/cli';
import { ErrorCode, type WalEntry, WalError } from '@wal/codec';
import { Wal } from '@wal/fs';
import {
  type RecoverResult,
  type RecoveryMode,
  recover,
  scanLog,
  type VerifyReport,
  verify,
} from '@wal/recovery';

const wal = await Wal.open({ dir: 'log' });
await wal.put('k', 'v');
await wal.close();

const mode: RecoveryMode = 'tolerate-tail';
const result: RecoverResult = await recover('log', { mode });
const first: WalEntry | undefined = result.entries[0];
console.log(first?.sequence, result.stats);
for await (const entry of scanLog('log', { mode: 'strict' })) {
  if (entry.type === 'put') console.log(entry.value.length);
}
const report: VerifyReport = await verify('log');
if (!report.ok) throw new WalError(ErrorCode.CORRUPTION, 'damaged');

const code: number = await main(['verify', 'log'], process);
if (code !== Exit.OK) process.exitCode = code;

// Proof the types are real, not `any`: these must be errors.
// @ts-expect-error not a recovery mode
await recover('log', { mode: 'best-effort' });
// @ts-expect-error a delete entry has no value
if (first?.type === 'delete') console.log(first.value.length);
