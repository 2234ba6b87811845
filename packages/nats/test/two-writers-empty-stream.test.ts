import { describe, expect, test } from 'vitest';
import { ReplicatedWal } from '../src/index.js';
import { connectCluster, streamMessages, tempDir, uniqueName } from './helpers.js';

describe('two logs opening on the same empty stream at once', () => {
  test('exactly one wins, the other is fenced with WAL_FENCED, and the stream holds only the winner', async () => {
    const nc = await connectCluster();
    const stream = uniqueName('two-writers');
    const writers = await Promise.allSettled(
      [0, 1].map(() =>
        ReplicatedWal.open({ dir: tempDir(), nats: nc, stream, publishTimeoutMs: 2_000 }),
      ),
    );
    const results = await Promise.all(
      writers.map(async (opened, w) => {
        if (opened.status === 'rejected')
          return { fenced: opened.reason?.code === 'WAL_FENCED', acked: 0 };
        const wal = opened.value;
        let acked = 0;
        let fenced = false;
        for (let i = 0; i < 20; i++) {
          try {
            await wal.put(`w${w}-${i}`, 'v');
            acked++;
          } catch (error) {
            fenced = (error as { code?: string }).code === 'WAL_FENCED';
            break;
          }
        }
        await wal.close().catch(() => {});
        return { fenced, acked, logId: wal.logId };
      }),
    );
    const winners = results.filter((r) => !r.fenced);
    expect(winners).toHaveLength(1);
    expect(results.filter((r) => r.fenced)).toHaveLength(1);
    expect(winners[0]?.acked).toBe(20);
    const messages = await streamMessages(nc, stream);
    const logs = new Set(messages.map((m) => m.header.get('Wal-Log')));
    expect([...logs]).toEqual([(winners[0] as { logId: string }).logId]);
    expect(messages.map((m) => Number(m.header.get('Wal-Sequence')))).toEqual(
      Array.from({ length: 20 }, (_, i) => i),
    );
  }, 60_000);
});
