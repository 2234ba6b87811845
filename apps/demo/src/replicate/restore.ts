import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { segmentFileName } from '@wal/fs/segments';
import type { ArchiveTarget } from '@wal/recovery';

/**
 * Rebuilds a log directory from an archive: every listed segment, in order,
 * each checked against the listing (SHA-256 and length) and the chain
 * (numbers contiguous, sequences continuing). A gap or a mismatch throws,
 * never skips. Resolves to the segments written.
 */
export async function restoreFromArchive(target: ArchiveTarget, dir: string): Promise<number[]> {
  mkdirSync(dir, { recursive: true });
  const written: number[] = [];
  let next: { segment: number; sequence: number } | undefined;
  for (const info of await target.list()) {
    if (next && (info.segment !== next.segment || info.firstSequence !== next.sequence)) {
      throw new Error(
        `expected segment ${next.segment} from sequence ${next.sequence} in the archive, found segment ${info.segment} from ${info.firstSequence}`,
      );
    }
    const data = await target.get(info.segment);
    const checksum = data && createHash('sha256').update(data).digest('hex');
    if (!data || checksum !== info.checksum || data.length !== info.bytes) {
      throw new Error(
        `expected segment ${info.segment} to be ${info.bytes} bytes with SHA-256 ${info.checksum}, found ${data ? `${data.length} bytes with ${checksum}` : 'none'}`,
      );
    }
    writeFileSync(path.join(dir, segmentFileName(info.segment)), data);
    written.push(info.segment);
    next = { segment: info.segment + 1, sequence: info.lastSequence + 1 };
  }
  return written;
}
