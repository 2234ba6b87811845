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
 * `WAL_IO_ERROR`, with the injected errno error somewhere in its cause chain.
 */
export function badReport(error: unknown, fault: Fault): string | undefined {
  if (!WalError.isInstance(error, ErrorCode.IO_ERROR)) {
    const code = (error as { code?: unknown })?.code;
    return `expected WAL_IO_ERROR, found ${String(code)}: ${(error as Error)?.message}`;
  }
  const injected = new Set(fault.fired.map((f) => f.error));
  for (let e: unknown = error; e; e = (e as { cause?: unknown }).cause) {
    if (injected.has(e as NodeJS.ErrnoException)) return undefined;
  }
  return `expected the injected errno error as the cause of: ${error.message}`;
}
