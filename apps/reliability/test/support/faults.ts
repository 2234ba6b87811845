import { ErrorCode, WalError } from '@wal/codec';
import type { Fault, FaultSpec } from '@wal/fs/testing';

export type FaultMode = 'transient' | 'persistent';

/**
 * The fault of run N: fail the Nth call, once or from then on, with each
 * plausible code of the failing call in turn as N grows.
 */
export function nthFault(n: number, mode: FaultMode): FaultSpec {
  return {
    nth: n,
    persistent: mode === 'persistent',
    code: (_, plausible) => plausible[n % plausible.length] as NonNullable<(typeof plausible)[0]>,
  };
}

/**
 * Why `error` is not a clean report of `fault`, or undefined when it is:
 * one of `codes` (by default `WAL_IO_ERROR`, or `WAL_FAILED` from a writer
 * the fault poisoned), with the injected errno error in its cause chain.
 */
export function badReport(
  error: unknown,
  fault: Fault,
  codes: readonly ErrorCode[] = [ErrorCode.IO_ERROR, ErrorCode.FAILED],
): string | undefined {
  if (!codes.some((code) => WalError.isInstance(error, code))) {
    const code = (error as { code?: unknown })?.code;
    return `expected ${codes.join(' or ')}, found ${String(code)}: ${(error as Error)?.message}`;
  }
  const injected = new Set(fault.fired.map((f) => f.error));
  for (let e: unknown = error; e; e = (e as { cause?: unknown }).cause) {
    if (injected.has(e as NodeJS.ErrnoException)) return undefined;
    // A failure that also failed to salvage carries both errors.
    if (e instanceof AggregateError && e.errors.some((x) => injected.has(x))) return undefined;
  }
  return `expected the injected errno error as the cause of: ${(error as Error).message}`;
}
