import {
  type ConsumerMessages,
  DeliverPolicy,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { crc32, ErrorCode, WalError } from '@wal/codec';
import { SequenceWaiters } from '@wal/fs/internal';
import { Memtable } from '@wal/memtable';
import { fenced, invalidOption, remoteError } from './errors.js';
import { decodeRecordMessage } from './message.js';
import { retrying } from './retry.js';
import { findRecord, HEADER_CHAIN, isStreamNotFound, storedRecordOf } from './stream.js';

/** Options of {@link Follower.start}. */
export interface FollowerOptions {
  /** A connection to the JetStream cluster. The caller owns it. */
  nats: NatsConnection;
  /** The stream a {@link ReplicatedWal} publishes to. */
  stream: string;
  /**
   * The table to replay into. Following starts after `table.lastSequence`
   * (a table restored from a checkpoint), or for a fresh table at sequence 0:
   * the stream must hold it, a later start would skip entries.
   */
  table: Memtable;
  /**
   * The log the stream must hold (16 hex digits). Default: the table's
   * `logId` (a checkpoint's), else whichever log its records come from.
   */
  logId?: string;
  /** How long start retries while the cluster is unavailable, in ms. Default 30 000. */
  openTimeoutMs?: number;
}

/**
 * Consumes a replication stream and applies each record, whole, to a
 * Memtable, in sequence order. Every record is checked on the way in: an
 * intact frame of the expected log, starting exactly where the previous one
 * ended, its chain value continuing the previous one's. A gap, a foreign
 * record or a damaged one stops the follower with a typed error
 * ({@link Follower.closed} rejects); it never skips.
 */
export class Follower {
  readonly #table: Memtable;
  readonly #nats: NatsConnection;
  #messages: ConsumerMessages;
  readonly #stream: string;
  /** Stream sequence of the last message read (the next consumer starts after it). */
  #streamSeq: number;
  #stalled = false;
  /** The stall check's view: `#streamSeq` at its last tick, and whether the stream was ahead then. */
  #checkedSeq = -1;
  #behind = false;
  #checking = false;
  #logId: string | null;
  /** The sequence the next record must hold. */
  #next: number;
  #applied = 0;
  #stopping = false;
  #gone = false;
  #chain: number | null = null;
  readonly #waiters = new SequenceWaiters();
  #error: WalError | undefined;
  readonly closed: Promise<void>;

  private constructor(
    nats: NatsConnection,
    table: Memtable,
    messages: ConsumerMessages,
    startSeq: number,
    stream: string,
    logId: string | null,
  ) {
    this.#nats = nats;
    this.#table = table;
    this.#messages = messages;
    this.#streamSeq = startSeq - 1;
    this.#stream = stream;
    this.#logId = logId;
    this.#next = table.lastSequence === null ? 0 : table.lastSequence + 1;
    this.closed = this.#run();
    const check = setInterval(() => void this.#checkProgress(), STALL_CHECK_MS);
    check.unref();
    // The caller learns of a failure through `closed` or `waitFor`; never as an unhandled rejection.
    void this.closed.catch(() => undefined).finally(() => clearInterval(check));
  }

  /**
   * Finds where to resume (the stream record holding `table.lastSequence + 1`)
   * and starts consuming. Rejects with `WAL_TRUNCATED` when the stream no
   * longer holds the records right after the checkpoint (its retention
   * removed them), `WAL_SEQUENCE_REWOUND` when the stream ends below the
   * checkpoint.
   */
  static async start(options: FollowerOptions): Promise<Follower> {
    const { nats, stream, table, logId, openTimeoutMs = 30_000 } = checkOptions(options);
    const { messages, startSeq } = await retrying(
      nats,
      `following stream ${stream}`,
      openTimeoutMs,
      async () => {
        const startSeq = await resumePoint(
          await jetstreamManager(nats),
          stream,
          table.lastSequence,
        );
        return { messages: await consume(nats, stream, startSeq), startSeq };
      },
    );
    // A checkpoint that names its log follows only that log, as replay does.
    return new Follower(nats, table, messages, startSeq, stream, logId ?? table.logId);
  }

  /** The last sequence applied to the table, or null. */
  get lastSequence(): number | null {
    return this.#table.lastSequence;
  }

  /** Entries applied to the table since start. */
  get applied(): number {
    return this.#applied;
  }

  /** The log the stream's records come from, once one was read. */
  get logId(): string | null {
    return this.#logId;
  }

  /** Why the follower stopped, or undefined while it runs (or after `stop()`). */
  get error(): WalError | undefined {
    return this.#error;
  }

  /**
   * Resolves once the table holds every sequence up to and including
   * `sequence`. Rejects with the follower's error, or with `WAL_CLOSED` once
   * `stop()` was called before the table got there.
   */
  waitFor(sequence: number, signal?: AbortSignal): Promise<void> {
    if (this.#error) return Promise.reject(this.#error);
    const last = this.#table.lastSequence;
    if (last !== null && last >= sequence) return Promise.resolve();
    if (this.#stopping) return Promise.reject(stoppedError());
    return this.#waiters.wait(sequence, signal);
  }

  /** Stops consuming; a pending `waitFor` rejects with `WAL_CLOSED`. The table keeps what was applied. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#messages.stop();
    await this.closed.catch(() => undefined);
    this.#waiters.fail(stoppedError());
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  // Two things the client does not handle by itself: it keeps retrying a
  // deleted stream (the follower says so instead), and after its server was
  // killed an ordered consumer can miss heartbeats for good without being
  // recreated (the follower makes a new one after its last message).
  // #checkProgress covers the silent form of the second.
  #watchStatus(messages: ConsumerMessages): void {
    void (async () => {
      for await (const status of messages.status()) {
        if (status.type === 'stream_not_found') this.#gone = true;
        else if (status.type === 'heartbeats_missed' && status.count >= STALL_HEARTBEATS) {
          this.#stalled = true;
        } else continue;
        messages.stop();
        return;
      }
    })().catch(() => undefined);
  }

  async #run(): Promise<void> {
    try {
      for (;;) {
        this.#watchStatus(this.#messages);
        for await (const message of this.#messages) {
          this.#apply(message.data, message.headers, message.seq);
          this.#streamSeq = message.seq;
        }
        if (this.#stopping) return;
        if (this.#gone || !this.#stalled) {
          throw new WalError(
            ErrorCode.REMOTE_ERROR,
            `expected stream ${this.#stream} to go on, found ${this.#gone ? 'it deleted' : 'its consumer ended'}`,
          );
        }
        this.#messages = await this.#reconsume();
        // Cleared only now: #checkProgress leaves a consumer being replaced alone.
        this.#stalled = false;
        this.#behind = false;
      }
    } catch (error) {
      this.#error = WalError.isInstance(error)
        ? error
        : remoteError(`following stream ${this.#stream}`, error);
      this.#messages.stop();
      this.#waiters.fail(this.#error);
      throw this.#error;
    }
  }

  // The client can go silent: after a reconnect it asks for the info of a
  // consumer whose only server died, forever, with its heartbeat monitor
  // off, so no `heartbeats_missed` comes. Two checks in a row without a
  // message, the stream ahead at the first: the consumer is made anew.
  async #checkProgress(): Promise<void> {
    const messages = this.#messages;
    const seq = this.#streamSeq;
    if (this.#stopping || this.#stalled || this.#checking) return;
    if (seq !== this.#checkedSeq) {
      this.#checkedSeq = seq;
      this.#behind = false;
      return;
    }
    this.#checking = true;
    let lastSeq: number;
    try {
      const jsm = await jetstreamManager(this.#nats, { checkAPI: false });
      lastSeq = (await jsm.streams.info(this.#stream)).state.last_seq;
    } catch (error) {
      // A deleted stream ends the follower here too: a silent client may
      // never report it to the status watcher (one CI run in several). Else
      // unavailable now: the next tick asks again.
      if (isStreamNotFound(error) && !this.#stopping && messages === this.#messages) {
        this.#gone = true;
        messages.stop();
      }
      return;
    } finally {
      this.#checking = false;
    }
    if (this.#stopping || this.#stalled || messages !== this.#messages || seq !== this.#streamSeq)
      return;
    const ahead = lastSeq > seq;
    if (ahead && this.#behind) {
      this.#stalled = true;
      messages.stop();
      return;
    }
    this.#behind = ahead;
  }

  // A new consumer from the message after the last one read, retried until it is made or stop().
  async #reconsume(): Promise<ConsumerMessages> {
    while (!this.#stopping) {
      try {
        const messages = await retrying(
          this.#nats,
          `following stream ${this.#stream}`,
          30_000,
          () => consume(this.#nats, this.#stream, this.#streamSeq + 1),
        );
        if (this.#stopping) messages.stop();
        return messages;
      } catch (error) {
        if (!(WalError.isInstance(error, ErrorCode.REMOTE_ERROR) && !this.#nats.isClosed()))
          throw error;
      }
    }
    return this.#messages;
  }

  #apply(
    payload: Uint8Array,
    headers: { get(name: string): string } | undefined,
    seq: number,
  ): void {
    const where = `message ${seq} of stream ${this.#stream}`;
    const record = decodeRecordMessage(payload, headers, where);
    if (this.#logId === null) this.#logId = record.logId;
    if (record.logId !== this.#logId) {
      throw fenced(this.#stream, `${where} from log ${record.logId}, not ${this.#logId}`);
    }
    const chain = Number.parseInt(headers?.get(HEADER_CHAIN) ?? '', 16);
    if (this.#chain !== null && chain !== crc32(payload, this.#chain)) {
      throw new WalError(
        ErrorCode.FENCED,
        `expected ${where} to continue the history before it (chain ${crc32(payload, this.#chain).toString(16)}), found chain ${headers?.get(HEADER_CHAIN)}: the stream holds two writers' records`,
      );
    }
    this.#chain = chain;
    const next = this.#next;
    if (record.firstSequence > next || record.nextSequence <= next) {
      throw new WalError(
        ErrorCode.TRUNCATED,
        `expected ${where} to hold sequence ${next}, found sequences ${record.firstSequence} to ${record.nextSequence - 1}: records are missing from the stream`,
      );
    }
    // One record is applied in one synchronous step: a reader never sees half a batch.
    for (const entry of record.entries) if (this.#table.apply(entry)) this.#applied++;
    this.#next = record.nextSequence;
    this.#waiters.release(record.nextSequence);
  }
}

function stoppedError(): WalError {
  return new WalError(ErrorCode.CLOSED, 'expected the follower to be running, found it stopped');
}

function checkOptions(options: FollowerOptions): FollowerOptions {
  if (typeof options !== 'object' || options === null) {
    throw invalidOption('options', 'an object', options);
  }
  const { nats, stream, table, logId, openTimeoutMs } = options;
  if (typeof nats?.publish !== 'function') throw invalidOption('nats', 'a NatsConnection', nats);
  if (typeof stream !== 'string' || !/^[\w-]+$/.test(stream)) {
    throw invalidOption('stream', 'a stream name (letters, digits, _ and -)', stream);
  }
  if (!(table instanceof Memtable)) throw invalidOption('table', 'a Memtable', table);
  if (logId !== undefined && !(typeof logId === 'string' && /^[0-9a-f]{16}$/.test(logId))) {
    throw invalidOption('logId', 'a log id (16 hex digits)', logId);
  }
  if (openTimeoutMs !== undefined && !(Number.isInteger(openTimeoutMs) && openTimeoutMs >= 0)) {
    throw invalidOption('openTimeoutMs', 'a non-negative integer', openTimeoutMs);
  }
  return options;
}

// Missed heartbeats (a second apart) after which the consumer is made anew.
const STALL_HEARTBEATS = 5;
// How often the follower checks it still gets messages while the stream has more.
const STALL_CHECK_MS = 5_000;

async function consume(
  nats: NatsConnection,
  stream: string,
  startSeq: number,
): Promise<ConsumerMessages> {
  const consumer = await jetstream(nats).consumers.get(stream, {
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: startSeq,
  });
  return consumer.consume({ expires: 5_000, idle_heartbeat: 1_000 });
}

async function resumePoint(
  jsm: JetStreamManager,
  stream: string,
  checkpoint: number | null,
): Promise<number> {
  const { state } = await jsm.streams.info(stream);
  // A fresh table needs the log from its first sequence: starting later would skip entries silently.
  const from = checkpoint === null ? 0 : checkpoint + 1;
  if (checkpoint === null && state.messages === 0) return Math.max(state.last_seq + 1, 1);
  const found = await findRecord(jsm, stream, from);
  if (found === null) {
    // Every record ends at or before the checkpoint: follow from the next message, if the last ends right there.
    const last =
      state.messages === 0 ? null : await jsm.streams.getMessage(stream, { seq: state.last_seq });
    const end = last ? storedRecordOf(last)?.nextSequence : undefined;
    if (end !== from) {
      throw new WalError(
        ErrorCode.SEQUENCE_REWOUND,
        `expected stream ${stream} to reach sequence ${from - 1} (the table's lastSequence), found it ending at ${end === undefined ? 'no record' : `sequence ${end - 1}`}`,
      );
    }
    return state.last_seq + 1;
  }
  if (found.first.firstSequence > from) {
    throw new WalError(
      ErrorCode.TRUNCATED,
      `expected stream ${stream} to hold sequence ${from} (${checkpoint === null ? 'a fresh table starts at 0' : "after the table's lastSequence"}), found its next record at ${found.first.firstSequence}: the stream no longer holds records the table does not have`,
    );
  }
  return found.seq;
}
