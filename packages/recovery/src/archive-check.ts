import { createHash } from 'node:crypto';
import { describeValue, ErrorCode, MAX_SEQUENCE, WalError } from '@wal/codec';
import type { WalFs } from '@wal/fs';
import { closeQuietly, io, readAt } from '@wal/fs/segments';
import { z } from 'zod';
import type { ArchivedSegment, ArchiveTarget } from './archive-target.js';

/** SHA-256 of `bytes`, lowercase hex: the checksum archives compare. */
export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The shape of an {@link ArchivedSegment}, for what a target stores or returns. */
export const archivedSegmentSchema = z.strictObject({
  segment: z.int().min(0).max(MAX_SEQUENCE),
  firstSequence: z.int().min(0).max(MAX_SEQUENCE),
  lastSequence: z.int().min(-1).max(MAX_SEQUENCE),
  bytes: z.int().min(0),
  checksum: z.string().regex(/^[0-9a-f]{64}$/),
});

/** True when `value` has the three methods of an {@link ArchiveTarget}. */
export function isArchiveTarget(value: unknown): value is ArchiveTarget {
  const t = value as Record<string, unknown> | null;
  return (
    typeof t === 'object' &&
    t !== null &&
    typeof t.put === 'function' &&
    typeof t.get === 'function' &&
    typeof t.list === 'function'
  );
}

/**
 * Checks what a target's `list()` returned: well-formed entries in segment
 * order, contiguous numbers, each segment starting where the previous one
 * ends. `WAL_ARCHIVE_CORRUPT` for a malformed list, `WAL_ARCHIVE_GAP` for a
 * missing segment or sequences.
 */
export function checkArchiveList(listed: unknown): ArchivedSegment[] {
  if (!Array.isArray(listed)) {
    throw new WalError(
      ErrorCode.ARCHIVE_CORRUPT,
      `expected the target to list an array of archived segments, found ${describeValue(listed)}`,
    );
  }
  const out: ArchivedSegment[] = [];
  listed.forEach((item, i) => {
    const parsed = archivedSegmentSchema.safeParse(item);
    if (!parsed.success) {
      throw new WalError(
        ErrorCode.ARCHIVE_CORRUPT,
        `expected entry ${i} of the archive's list to be an archived segment, found ${describeValue(item)} (${parsed.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; ')})`,
        { cause: parsed.error },
      );
    }
    const s = parsed.data;
    const previous = out.at(-1);
    if (previous && s.segment !== previous.segment + 1) {
      throw new WalError(
        ErrorCode.ARCHIVE_GAP,
        `expected archived segment ${previous.segment + 1} after ${previous.segment}, found ${s.segment} (the archive is missing segments ${previous.segment + 1} to ${s.segment - 1})`,
      );
    }
    if (previous && s.firstSequence !== previous.lastSequence + 1) {
      throw new WalError(
        ErrorCode.ARCHIVE_GAP,
        `expected archived segment ${s.segment} to start at sequence ${previous.lastSequence + 1} (where segment ${previous.segment} ends), found ${s.firstSequence}`,
      );
    }
    out.push(s);
  });
  return out;
}

/** The whole file at `file`, read through `fs`. */
export async function readWhole(fs: WalFs, file: string): Promise<Uint8Array> {
  const fd = await io('open', file, () => fs.open(file, 'r'));
  try {
    const size = await io('stat', file, () => fs.fsize(fd));
    return await readAt(fs, fd, 0, size, file);
  } finally {
    await closeQuietly(fs, fd);
  }
}
