import path from 'node:path';

/** Suffix of a segment being created; renamed to its final name once its header is durable. */
export const CREATING_SUFFIX = '.tmp';

/** Segment files are `wal_<segment>.log`, the number zero-padded to at least 8 digits. */
export function segmentFileName(segment: number): string {
  return `wal_${String(segment).padStart(8, '0')}.log`;
}

const SEGMENT_NAME = /^wal_(\d{8,})\.log$/;
// A copy set aside keeps the number: `wal_N.log.broken`, `quarantine/<n>/wal_N.log`.
const NUMBERED = /^wal_(\d{8,})\.log(?:\.|$)/;

/** The segment number in a file name, or undefined when it is not a segment file. */
export function parseSegmentFileName(name: string): number | undefined {
  return safe(SEGMENT_NAME.exec(name)?.[1]);
}

/** The segment number a file's name starts with (`wal_N.log`, `wal_N.log.broken`...), if any. */
export function segmentOfFile(file: string): number | undefined {
  return safe(NUMBERED.exec(path.basename(file))?.[1]);
}

function safe(digits: string | undefined): number | undefined {
  if (digits === undefined) return undefined;
  const n = Number(digits);
  return Number.isSafeInteger(n) ? n : undefined;
}
