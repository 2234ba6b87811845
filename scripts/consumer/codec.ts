// Scenario (a): the types a TypeScript consumer of @wal/codec sees.
import {
  type DamageReason,
  type DecodeResult,
  decodeAll,
  ErrorCode,
  encodeBatchFrame,
  type WalEntry,
  WalError,
  type WalOp,
} from '@wal/codec';

const ops: WalOp[] = [{ type: 'put', key: new Uint8Array([1]), value: new Uint8Array(0) }];
const frame: Uint8Array = encodeBatchFrame({ salt: 1, synced: 48 }, 1, ops);
const results: DecodeResult[] = decodeAll(frame, { salt: 1, firstSequence: 1 });
for (const result of results) {
  if (result.kind === 'damage') {
    const reason: DamageReason = result.reason;
    console.log(reason, result.offset);
  } else if (result.record.type === 'batch') {
    const entries: readonly WalEntry[] = result.record.entries;
    const sequence: number = entries[0]?.sequence ?? -1;
    console.log(sequence);
  }
}
const code: ErrorCode = ErrorCode.CORRUPTION;
const error: unknown = new WalError(code, 'x');
if (WalError.isInstance(error)) console.log(error.code satisfies ErrorCode);

// Proof the types are real, not `any`: these must be errors.
// @ts-expect-error an op needs a type
encodeBatchFrame({ salt: 1, synced: 48 }, 1, [{ key: new Uint8Array(0) }]);
// @ts-expect-error not an error code
const wrong: ErrorCode = 'WAL_NOPE';
console.log(wrong);
