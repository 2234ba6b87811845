import { describeValue, ErrorCode, MAX_SEQUENCE, WalError } from '@wal/codec';
import { isWalFs, nodeFs, WAL_FS_METHODS, type WalFs } from '@wal/fs';
import { z } from 'zod';

// Every WalFs method recovery may call; checked up front so a bad `fs`
// fails as WAL_INVALID_OPTIONS, not as a TypeError halfway through a repair.
const walFs = z.custom<WalFs>(isWalFs, {
  message: `expected a WalFs with methods ${WAL_FS_METHODS.join(', ')}`,
});

const common = { fs: walFs.default(nodeFs) };
const sequence = z.int().min(0).max(MAX_SEQUENCE);

const scanSchema = z.strictObject({
  ...common,
  mode: z
    .enum(['strict', 'tolerate-tail', 'point-in-time', 'skip-corrupted'])
    .default('tolerate-tail'),
  fromSequence: sequence.default(0),
  toSequence: sequence.optional(),
  limit: z.int().min(0).optional(),
  signal: z
    .custom<AbortSignal>((v) => v instanceof AbortSignal, {
      message: 'expected an AbortSignal',
    })
    .optional(),
  ifMissing: z.enum(['error', 'empty']).default('error'),
});

const verifySchema = z.strictObject({
  ...common,
  mode: z.enum(['strict', 'tolerate-tail']).default('tolerate-tail'),
});

const repairSchema = z.strictObject({
  ...common,
  dryRun: z.boolean().default(false),
});

export type ResolvedScanOptions = z.output<typeof scanSchema>;
export type ResolvedVerifyOptions = z.output<typeof verifySchema>;
export type ResolvedRepairOptions = z.output<typeof repairSchema>;

export const parseScanOptions = (input: unknown): ResolvedScanOptions =>
  parse(scanSchema, input, 'scan');
export const parseVerifyOptions = (input: unknown): ResolvedVerifyOptions =>
  parse(verifySchema, input, 'verify');
export const parseRepairOptions = (input: unknown): ResolvedRepairOptions =>
  parse(repairSchema, input, 'repair');

/** Validates `input` against `schema`; throws `WAL_INVALID_OPTIONS` naming every issue. */
export function parse<T extends z.ZodType>(schema: T, input: unknown, what: string): z.output<T> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  const found = result.error.issues
    .map((issue) => `${issue.path.join('.') || 'options'}: ${issue.message}`)
    .join('; ');
  throw new WalError(ErrorCode.INVALID_OPTIONS, `expected valid ${what} options, found ${found}`, {
    cause: result.error,
  });
}

/** Checks the path argument; throws `WAL_INVALID_ARGUMENT` when it is not a non-empty string. */
export function checkPath(value: unknown, what: string): string {
  if (typeof value === 'string' && value.length > 0) return value;
  throw new WalError(
    ErrorCode.INVALID_ARGUMENT,
    `expected ${what} to be a non-empty path string, found ${describeValue(value)}`,
  );
}
