import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { nodeFs, Wal } from '@wal/fs';
import { listSegmentFiles, readSegmentInfo, type SegmentFile } from '@wal/fs/segments';
import { Memtable, replay } from '@wal/memtable';
import { describe, expect, test } from 'vitest';
import { Follower, ReplicatedWal } from '../src/index.js';
import { localRecords } from '../src/local-records.js';
import { Publisher, readPosition } from '../src/publisher.js';
import { cluster, connectCluster, streamRanges, tempDir, uniqueName } from './helpers.js';
import { ackedSequences, startFixture } from './processes.js';

function contiguous(ranges: [number, number][], from: number, to: number): boolean {
  let next = from;
  for (const [first, after] of ranges) {
    if (first !== next) return false;
    next = after;
  }
  return next === to;
}

describe('a writer SIGKILLed mid-stream', () => {
  test('restarted, it publishes what the stream lacks: every record once, in order, every replicated acknowledgement kept', async () => {
    const nc = await connectCluster();
    const dir = tempDir();
    const stream = uniqueName('kill');
    const writer = startFixture('writer', {
      dir,
      stream,
      servers: cluster().servers,
      ack: 'replicated',
      count: 100_000,
      concurrency: 16,
    });
    await writer.waitFor((_, lines) => ackedSequences(lines).length >= 300, '300 acks');
    await writer.kill();
    const acked = ackedSequences(writer.lines);

    const wal = await ReplicatedWal.open({ dir, nats: nc, stream });
    const end = wal.nextSequence;
    await wal.put('after', 'restart');
    await wal.close();
    const ranges = await streamRanges(nc, stream);
    expect(contiguous(ranges, 0, end + 1)).toBe(true);
    const inStream = new Set(ranges.map(([first]) => first));
    expect(acked.filter((s) => !inStream.has(s))).toEqual([]);

    const local = new Memtable();
    await replay(dir, local);
    const table = new Memtable();
    const follower = await Follower.start({ nats: nc, stream, table });
    await follower.waitFor(end);
    await follower.stop();
    expect([...table.entries()]).toEqual([...local.entries()]);
  });

  test('a resend of records the stream already stored is deduplicated by message id (a restart that read the stream before the last publishes landed)', async () => {
    const nc = await connectCluster();
    const jsm = await jetstreamManager(nc);
    const dir = tempDir();
    const stream = uniqueName('dedup');
    const writer = startFixture('writer', {
      dir,
      stream,
      servers: cluster().servers,
      ack: 'replicated',
      count: 100_000,
      concurrency: 4,
    });
    await writer.waitFor((_, lines) => ackedSequences(lines).length >= 50, '50 acks');
    // What a restarted writer sees if it reads the stream now, before the rest lands.
    const stale = await readPosition(jsm, stream, `wal.${stream}`, await logIdOf(dir));
    await writer.waitFor((_, lines) => ackedSequences(lines).length >= 200, '200 acks');
    await writer.kill();
    const truth = await readPosition(jsm, stream, `wal.${stream}`, await logIdOf(dir));
    const staleNext = stale.last?.nextSequence ?? 0;
    const storedSince = (truth.last?.nextSequence ?? 0) - staleNext;
    // The writer went on for 150 acknowledgements after the stale read (which took a moment itself).
    expect(storedSince).toBeGreaterThan(50);

    const wal = await Wal.open({ dir, maxRecordBytes: 64 * 1024 });
    const end = { segment: wal.segment, size: wal.segmentSize, nextSequence: wal.nextSequence };
    const publisher = new Publisher({
      nats: nc,
      js: jetstream(nc),
      jsm,
      stream,
      subject: `wal.${stream}`,
      logId: wal.logId,
      position: stale,
      catchUp: localRecords(nodeFs, dir, wal.logId, staleNext, end),
      waitDurable: (sequence) => wal.waitDurable(sequence),
      timeoutMs: 5_000,
      maxInFlight: 256,
    });
    await publisher.waitFor(end.nextSequence - 1);
    await publisher.stop();
    await wal.close();
    // Each record the stream had was acknowledged as a duplicate, not stored again. (A
    // publish timeout on this loaded machine makes the publisher resync, and what it
    // then finds stored is not acknowledged again: exact counts only without one.)
    expect(publisher.stats.duplicates).toBeGreaterThan(0);
    if (publisher.stats.resyncs === 0) {
      expect(publisher.stats.duplicates).toBe(storedSince);
      expect(publisher.stats.published).toBe(end.nextSequence - staleNext - storedSince);
    }
    expect(contiguous(await streamRanges(nc, stream), 0, end.nextSequence)).toBe(true);
  });
});

async function logIdOf(dir: string): Promise<string> {
  const [first] = await listSegmentFiles(nodeFs, dir);
  const info = await readSegmentInfo(nodeFs, (first as SegmentFile).file, 0);
  return info.header?.logId as string;
}
