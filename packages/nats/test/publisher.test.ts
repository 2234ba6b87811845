// The Publisher against a fake JetStream client whose acks the test hands
// out: orderings a real cluster produces only by chance.
import type { JetStreamClient, JetStreamManager, PubAck, StoredMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { describe, expect, test } from 'vitest';
import { encodeRecordMessage } from '../src/message.js';
import { Publisher } from '../src/publisher.js';

const LOG = '0123456789abcdef';

function record(sequence: number) {
  return encodeRecordMessage(LOG, sequence, [{ type: 'delete', key: new Uint8Array([sequence]) }]);
}

/** A publisher whose every publish waits for the test to settle it; `stored` answers getMessage. */
function harness(stored: (seq: number) => StoredMsg | null = () => null) {
  const published: string[] = [];
  const acks: ((ack: PubAck) => void)[] = [];
  const failures: ((error: Error) => void)[] = [];
  const js = {
    publish(_subject: string, _payload: Uint8Array, opts: { msgID: string }) {
      published.push(opts.msgID);
      return new Promise<PubAck>((resolve, reject) => {
        acks.push(resolve);
        failures.push(reject);
      });
    },
  } as unknown as JetStreamClient;
  const jsm = {
    streams: { getMessage: async (_stream: string, { seq }: { seq: number }) => stored(seq) },
  } as unknown as JetStreamManager;
  const publisher = new Publisher({
    nats: { isClosed: () => false } as unknown as NatsConnection,
    js,
    jsm,
    stream: 's',
    subject: 'wal.s',
    logId: LOG,
    position: { seq: 0, last: null },
    catchUp: (async function* () {})(),
    waitDurable: async () => undefined,
    timeoutMs: 5_000,
    maxInFlight: 256,
  });
  return { publisher, published, acks, failures };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 20));

function message(seq: number, id: string): StoredMsg {
  return { seq, header: { get: (name: string) => (name === 'Nats-Msg-Id' ? id : '') } } as never;
}

describe('Publisher', () => {
  test('a record pushed at any point between an ack and the wait for the next push is published', async () => {
    const unsent: number[] = [];
    for (let hops = 0; hops < 40; hops++) {
      const { publisher, published, acks } = harness();
      publisher.push(record(0));
      await tick();
      expect(published.length).toBe(1);
      // Record 0's ack arrives; `hops` microtasks later (the same turn) record 1 is pushed.
      acks[0]?.({ stream: 's', seq: 1, duplicate: false });
      let later: Promise<void> = Promise.resolve();
      for (let i = 0; i < hops; i++) later = later.then(() => undefined);
      void later.then(() => publisher.push(record(1)));
      await tick();
      await tick();
      if (published.length < 2) unsent.push(hops);
      acks[1]?.({ stream: 's', seq: 2, duplicate: false });
      await publisher.stop();
    }
    expect(unsent).toEqual([]);
  });

  test('a duplicate ack counts as stored only while the stream holds the message it names', async () => {
    const kept = harness((seq) => message(seq, kept.published[0] as string));
    kept.publisher.push(record(0));
    await tick();
    kept.acks[0]?.({ stream: 's', seq: 7, duplicate: true });
    await kept.publisher.waitFor(0);
    expect(kept.publisher.replicatedSequence).toBe(1);
    expect(kept.publisher.stats).toMatchObject({ duplicates: 1, published: 0 });
    await kept.publisher.stop();

    // The server remembers the id after the message is gone (a purge, a limit): a resend is acked duplicate.
    const gone = harness(() => null);
    gone.publisher.push(record(0));
    await tick();
    gone.acks[0]?.({ stream: 's', seq: 7, duplicate: true });
    await expect(gone.publisher.waitFor(0)).rejects.toMatchObject({
      code: 'WAL_REMOTE_ERROR',
      message: expect.stringContaining('the stream lost acknowledged records'),
    });
    expect(gone.publisher.replicatedSequence).toBe(0);
    expect(gone.publisher.error?.code).toBe('WAL_REMOTE_ERROR');
    await gone.publisher.stop();

    // Another message at that sequence is no proof either.
    const other = harness((seq) => message(seq, `${LOG}:5:00000000`));
    other.publisher.push(record(0));
    await tick();
    other.acks[0]?.({ stream: 's', seq: 7, duplicate: true });
    await expect(other.publisher.waitFor(0)).rejects.toMatchObject({ code: 'WAL_REMOTE_ERROR' });
    await other.publisher.stop();
  });

  test('stop() rejects a pending waitFor with WAL_CLOSED, and every later one', async () => {
    const { publisher, acks, failures } = harness();
    publisher.push(record(0));
    await tick();
    acks[0]?.({ stream: 's', seq: 1, duplicate: false });
    await publisher.waitFor(0);
    publisher.push(record(1));
    const pending = publisher.waitFor(1);
    await tick();
    const stopping = publisher.stop();
    // stop() waits for the publish in flight to settle (its timeout, here at once).
    failures[1]?.(new Error('timeout'));
    await stopping;
    await expect(pending).rejects.toMatchObject({ code: 'WAL_CLOSED' });
    await expect(publisher.waitFor(2)).rejects.toMatchObject({ code: 'WAL_CLOSED' });
    // What the stream stored stays stored.
    await expect(publisher.waitFor(0)).resolves.toBeUndefined();
    expect(publisher.error).toBeUndefined();
  });
});
