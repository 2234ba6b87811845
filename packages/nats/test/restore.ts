// Restore from an archive target, for the tests, until @wal/recovery's
// restore lands: list, check the chain (numbers contiguous, sequences
// continuing), get each segment, check its SHA-256 and length against the
// listing, write it under its own name. A gap is an error, never a skip.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ErrorCode, WalError } from '@wal/codec';
import { segmentFileName } from '@wal/fs/segments';
import type { ArchiveTarget } from '@wal/recovery';

export async function restoreFromArchive(target: ArchiveTarget, dir: string): Promise<number> {
  const listed = await target.list();
  mkdirSync(dir, { recursive: true });
  let previous: (typeof listed)[number] | undefined;
  for (const info of listed) {
    if (previous && info.segment !== previous.segment + 1) {
      throw new WalError(
        ErrorCode.ARCHIVE_GAP,
        `expected segment ${previous.segment + 1} in the archive, found ${info.segment} next`,
      );
    }
    if (previous && info.firstSequence !== previous.lastSequence + 1) {
      throw new WalError(
        ErrorCode.ARCHIVE_GAP,
        `expected segment ${info.segment} to start at sequence ${previous.lastSequence + 1}, found ${info.firstSequence}`,
      );
    }
    const data = await target.get(info.segment);
    if (data === undefined) {
      throw new WalError(
        ErrorCode.ARCHIVE_GAP,
        `expected segment ${info.segment} in the archive, found none`,
      );
    }
    const checksum = createHash('sha256').update(data).digest('hex');
    if (checksum !== info.checksum || data.length !== info.bytes) {
      throw new WalError(
        ErrorCode.ARCHIVE_CORRUPT,
        `expected segment ${info.segment} to be ${info.bytes} bytes with SHA-256 ${info.checksum}, found ${data.length} bytes with ${checksum}`,
      );
    }
    writeFileSync(path.join(dir, segmentFileName(info.segment)), data);
    previous = info;
  }
  return listed.length;
}
