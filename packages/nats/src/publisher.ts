import { setTimeout as sleep } from 'node:timers/promises';
import {
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type PubAck,
} from '@nats-io/jetstream';
import { type NatsConnection, headers as natsHeaders } from '@nats-io/transport-node';
import { crc32, ErrorCode, WalError } from '@wal/codec';
import { SequenceWaiters } from '@wal/fs/internal';
import { fenced, remoteError, streamLost } from './errors.js';
import {
  HEADER_LOG,
  HEADER_NEXT,
  HEADER_SEQUENCE,
  messageId,
  type RecordMessage,
} from './message.js';
import { isTransient } from './retry.js';
import {
  captures,
  HEADER_CHAIN,
  notCaptured,
  type StoredRecord,
  storedRecordOf,
  streamTip,
} from './stream.js';

/** Where the stream's history of this log stands: its last record, or none yet. */
export interface StreamPosition {
  /**
   * The stream's last sequence (any subject's; 0 for a stream that never
   * held a message): what the first publish expects.
   */
  seq: number;
  /**
   * The last record's chain value, message id, sequences and payload (the
   * frame, for open to compare with the local log's record there), or null
   * when the stream holds none of this log.
   */
  last: {
    chain: number;
    id: string;
    firstSequence: number;
    nextSequence: number;
    payload: Uint8Array;
  } | null;
}

/** What {@link Publisher} needs. */
export interface PublisherOptions {
  nats: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  stream: string;
  subject: string;
  logId: string;
  /** Where the stream was when the writer started (see {@link readPosition}). */
  position: StreamPosition;
  /** Records before the live ones: the catch-up from the local log, in order. */
  catchUp: AsyncIterable<RecordMessage>;
  /** Resolves once `sequence` is durable locally (`Wal.waitDurable`): nothing is published before. */
  waitDurable: (sequence: number) => Promise<unknown>;
  timeoutMs: number;
  maxInFlight: number;
}

interface Outgoing extends RecordMessage {
  id: string;
  chain: number;
  /** The publish in flight, or null until (re)sent. Never rejects. */
  result: Promise<Outcome> | null;
}

type Outcome = { ok: true; ack: PubAck } | { ok: false; error: unknown };

/** Counters of a {@link Publisher}, for monitoring and tests. */
export interface ReplicationStats {
  /** Records the stream stored as new messages. */
  published: number;
  /** Records the stream acknowledged as duplicates of a message it had (a resend). */
  duplicates: number;
  /** Times publishing stopped on a failed publish and resumed from the stream's last record. */
  resyncs: number;
}

const PUSHED = Symbol('pushed');
// The server's code for a failed `expect.lastMsgID`.
const WRONG_LAST_MSG_ID = 10070;
const RETRY_MIN_MS = 50;
const RETRY_MAX_MS = 2_000;

/** Reads where the stream's history of `logId` stands; a foreign last record fences. */
export async function readPosition(
  jsm: JetStreamManager,
  stream: string,
  subject: string,
  logId: string,
): Promise<StreamPosition> {
  const { tip, lastSeq } = await streamTip(jsm, stream, subject);
  if (tip === null) return { seq: lastSeq, last: null };
  const record = storedRecordOf(tip);
  if (record === null || record.logId !== logId) {
    throw fenced(stream, describeForeign(tip.seq, record));
  }
  return {
    seq: lastSeq,
    last: {
      chain: record.chain,
      id: record.id,
      firstSequence: record.firstSequence,
      nextSequence: record.nextSequence,
      payload: tip.data,
    },
  };
}

function describeForeign(seq: number, record: StoredRecord | null): string {
  return record === null
    ? `message ${seq}, which no @wal writer published`
    : `message ${seq} from log ${record.logId}`;
}

/**
 * Publishes a log's records to a stream in order, pipelined, and learns
 * which ones the stream stored.
 *
 * Each message's id is `<logId>:<firstSequence>:<chain>`, where the chain
 * is a CRC-32 over every record payload of this log's history in the
 * stream, so two writers agree on an id only if they agree on everything
 * before it. Each message expects, through `expect.lastMsgID`, the id of
 * the record before it (the first one after a start or a resync expects,
 * through `expect.lastSequence`, the stream's last sequence, read with the
 * record it verified, instead). So the stream stores a message only
 * directly after the history its writer has: a second writer's message, or
 * this writer's after another's, is refused, and a resend of one it stored
 * is deduplicated. When a publish fails, the publisher stops sending, reads
 * the stream's last record and either finds it in its own history and goes
 * on from there, or fails with `WAL_FENCED`. Its history is every record it
 * was handed, sent or not: an earlier writer of the log may have sent more
 * than this one has in flight, landing after it read the stream.
 */
export class Publisher {
  readonly #o: PublisherOptions;
  readonly #sent: Outgoing[] = [];
  readonly #live: RecordMessage[] = [];
  readonly #catchUp: AsyncIterator<RecordMessage>;
  #catchUpDone = false;
  readonly #waiters = new SequenceWaiters();
  /** Every sequence below this one is stored in the stream. */
  #replicated: number;
  /** The next sequence a record handed to the publisher must start at (null until the first). */
  #expected: number | null;
  #chain: number;
  #prevId: string | null;
  /** The id of the last record known stored. */
  #lastStoredId: string | null;
  #position: number | null;
  /** Resyncs since a publish last succeeded: each waits longer before reading the stream. */
  #failedResyncs = 0;
  #error: WalError | undefined;
  #stopping = false;
  readonly #halt = new AbortController();
  #wake: (() => void) | undefined;
  /**
   * Set by push() and stop(), cleared as #dispatch starts taking records: a
   * push while the loop is between its queue and its wait is not missed.
   */
  #signalled = false;
  readonly #done: Promise<void>;
  readonly stats: ReplicationStats = { published: 0, duplicates: 0, resyncs: 0 };

  constructor(options: PublisherOptions) {
    this.#o = options;
    const { last, seq } = options.position;
    this.#replicated = last?.nextSequence ?? 0;
    this.#expected = last?.nextSequence ?? null;
    this.#chain = last?.chain ?? 0;
    this.#prevId = last?.id ?? null;
    this.#lastStoredId = this.#prevId;
    this.#position = seq;
    this.#catchUp = options.catchUp[Symbol.asyncIterator]();
    this.#done = this.#run();
  }

  /** Every sequence below this one is stored in the stream (as far as this writer knows). */
  get replicatedSequence(): number {
    return this.#replicated;
  }

  /**
   * Why the publisher stopped for good, or undefined: `WAL_FENCED`,
   * `WAL_REMOTE_ERROR`, `WAL_INVALID_OPTIONS` (the stream no longer
   * captures the subject), or an error reading the local log for the catch-up
   * (`WAL_TRUNCATED`, `WAL_CORRUPTION`, ...) or of the log itself.
   */
  get error(): WalError | undefined {
    return this.#error;
  }

  /** Hands a locally appended record over; records must come in sequence order. */
  push(record: RecordMessage): void {
    if (this.#error) return;
    this.#live.push(record);
    this.#notify();
  }

  /**
   * Resolves once the stream stored every sequence up to and including
   * `sequence`; rejects with `WAL_CLOSED` once stopped before that.
   */
  waitFor(sequence: number, signal?: AbortSignal): Promise<void> {
    if (this.#error) return Promise.reject(this.#error);
    if (sequence < this.#replicated) return Promise.resolve();
    if (this.#stopping) return Promise.reject(stoppedError());
    return this.#waiters.wait(sequence, signal);
  }

  /**
   * Stops publishing; records not yet stored stay in the local log for the
   * next start, and whoever waits for them gets `WAL_CLOSED`.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#halt.abort();
    this.#notify();
    await this.#done;
    this.#waiters.fail(stoppedError());
  }

  async #run(): Promise<void> {
    try {
      let resync = false;
      while (!this.#stopping) {
        if (resync) {
          await this.#resync();
          resync = false;
          continue;
        }
        await this.#dispatch();
        const oldest = this.#sent[0];
        if (!oldest?.result) {
          await this.#idle();
          continue;
        }
        // New records go out while the oldest is in flight (up to maxInFlight).
        const outcome =
          this.#sent.length < this.#o.maxInFlight
            ? await Promise.race([oldest.result, this.#pushed()])
            : await oldest.result;
        if (outcome === PUSHED) continue;
        if (outcome.ok) {
          if (!(await this.#confirm(oldest, outcome.ack))) continue;
          this.#sent.shift();
          this.#count(outcome.ack);
          this.#stored(oldest);
        } else {
          this.#checkFatal(outcome.error);
          resync = true;
        }
      }
    } catch (error) {
      this.#fail(
        WalError.isInstance(error) ? error : remoteError(`publishing to ${this.#o.stream}`, error),
      );
    }
    // Settle what is in flight, so nothing runs after stop() resolves.
    await Promise.all(this.#sent.map((s) => s.result));
  }

  // Sends records until maxInFlight are in flight.
  async #dispatch(): Promise<void> {
    this.#signalled = false;
    while (!this.#stopping) {
      let unsent = this.#sent.findIndex((s) => s.result === null);
      if (unsent === -1) {
        if (this.#sent.length >= this.#o.maxInFlight) return;
        const next = await this.#nextRecord();
        if (!next) return;
        unsent = this.#sent.length;
        this.#sent.push(next);
      }
      const item = this.#sent[unsent] as Outgoing;
      await this.#o.waitDurable(item.nextSequence - 1);
      item.result = this.#publish(item);
    }
  }

  async #nextRecord(): Promise<Outgoing | null> {
    let record: RecordMessage | undefined;
    if (!this.#catchUpDone) {
      const result = await this.#catchUp.next();
      if (result.done) this.#catchUpDone = true;
      else record = result.value;
    }
    if (!record && this.#catchUpDone) record = this.#live.shift();
    if (!record) return null;
    if (this.#expected !== null && record.firstSequence !== this.#expected) {
      throw new WalError(
        ErrorCode.INVALID_ARGUMENT,
        `expected the next record to start at sequence ${this.#expected}, found ${record.firstSequence}`,
      );
    }
    this.#expected = record.nextSequence;
    this.#chain = crc32(record.payload, this.#chain);
    const chainHex = this.#chain.toString(16).padStart(8, '0');
    return {
      ...record,
      id: `${messageId(record.logId, record.firstSequence)}:${chainHex}`,
      chain: this.#chain,
      result: null,
    };
  }

  #publish(item: Outgoing): Promise<Outcome> {
    const h = natsHeaders();
    h.set(HEADER_LOG, item.logId);
    h.set(HEADER_SEQUENCE, String(item.firstSequence));
    h.set(HEADER_NEXT, String(item.nextSequence));
    h.set(HEADER_CHAIN, item.chain.toString(16).padStart(8, '0'));
    const expect =
      this.#position !== null
        ? { lastSequence: this.#position }
        : { lastMsgID: this.#prevId as string };
    this.#position = null;
    this.#prevId = item.id;
    return this.#o.js
      .publish(this.#o.subject, item.payload, {
        msgID: item.id,
        expect,
        headers: h,
        timeout: this.#o.timeoutMs,
      })
      .then(
        (ack): Outcome => ({ ok: true, ack }),
        (error): Outcome => ({ ok: false, error }),
      );
  }

  #count(ack: PubAck): void {
    if (ack.duplicate) this.stats.duplicates++;
    else this.stats.published++;
  }

  #stored(item: Outgoing): void {
    this.#failedResyncs = 0;
    this.#replicated = item.nextSequence;
    this.#lastStoredId = item.id;
    this.#waiters.release(this.#replicated);
  }

  #checkFatal(error: unknown): void {
    const expectation =
      error instanceof JetStreamApiError &&
      (error.code === JetStreamApiCodes.StreamWrongLastSequence ||
        error.code === WRONG_LAST_MSG_ID ||
        error.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);
    if (!expectation && !isTransient(this.#o.nats, error)) {
      throw remoteError(`publishing to ${this.#o.stream}`, error);
    }
  }

  // After a failed publish: wait for everything in flight, then read the
  // stream's last record and go on from it if it is in this writer's history.
  async #resync(): Promise<void> {
    const outcomes = await Promise.all(this.#sent.map((s) => s.result));
    const failure = outcomes.find((o): o is { ok: false; error: unknown } => o?.ok === false);
    // A stored message was accepted only after its predecessor: everything up to the last stored one is in.
    this.stats.resyncs++;
    let lastStored = -1;
    for (const [i, o] of outcomes.entries()) {
      if (o?.ok) {
        if (!(await this.#confirm(this.#sent[i] as Outgoing, o.ack))) return;
        lastStored = i;
        this.#count(o.ack);
      } else if (o) this.#checkFatal(o.error);
    }
    for (const item of this.#sent.splice(0, lastStored + 1)) this.#stored(item);
    for (const item of this.#sent) item.result = null;
    // A stream that keeps refusing what its tip says it takes must not be asked in a hot loop.
    if (this.#failedResyncs > 0) {
      const delay = Math.min(RETRY_MIN_MS * 2 ** (this.#failedResyncs - 1), RETRY_MAX_MS);
      await sleep(delay, undefined, { signal: this.#halt.signal }).catch(() => undefined);
    }
    this.#failedResyncs++;
    const { jsm, stream, subject } = this.#o;
    const found = await this.#untilStopped(() => streamTip(jsm, stream, subject));
    if (found === undefined) return;
    const { tip, lastSeq, subjects } = found;
    // Subjects changed after open: every publish would fail (no responders) forever.
    if (!captures(subjects, subject)) {
      throw notCaptured(stream, subject, JSON.stringify(subjects), failure?.error);
    }
    const record = tip === null ? null : storedRecordOf(tip);
    // A message that is there but is not an @wal record is another writer's.
    if (tip !== null && record === null) throw fenced(stream, describeForeign(tip.seq, null));
    await this.#resumeFrom(record, lastSeq);
  }

  // An ack counts only from this stream: another may have taken the subject
  // over. A duplicate ack names the message the server remembers the id of.
  // The id outlives the message (a purge, the stream's limits), so the record
  // counts as stored only while that message is there. False: stopped first.
  async #confirm(item: Outgoing, ack: PubAck): Promise<boolean> {
    const { jsm, stream, subject } = this.#o;
    if (ack.stream !== stream) {
      throw notCaptured(
        stream,
        subject,
        `record ${item.firstSequence} stored in stream ${ack.stream}`,
      );
    }
    if (!ack.duplicate) return true;
    const message = await this.#untilStopped(() =>
      jsm.streams.getMessage(stream, { seq: ack.seq }),
    );
    if (message === undefined) return false;
    if (message?.header?.get('Nats-Msg-Id') !== item.id) {
      throw streamLost(
        stream,
        `record ${item.firstSequence} (${item.id}), which it acknowledged as a duplicate of message ${ack.seq}`,
        message === null ? 'no message there' : 'another message there',
      );
    }
    return true;
  }

  // Runs a request until it succeeds, retrying transient failures with
  // backoff; undefined once stop() was called.
  async #untilStopped<T>(request: () => Promise<T>): Promise<T | undefined> {
    for (let delay = RETRY_MIN_MS; ; delay = Math.min(delay * 2, RETRY_MAX_MS)) {
      if (this.#stopping) return undefined;
      try {
        return await request();
      } catch (error) {
        if (WalError.isInstance(error)) throw error;
        this.#checkFatal(error);
        await sleep(delay, undefined, { signal: this.#halt.signal }).catch(() => undefined);
      }
    }
  }

  async #resumeFrom(tip: StoredRecord | null, seq: number): Promise<void> {
    const { stream } = this.#o;
    if (tip === null) {
      if (this.#lastStoredId !== null)
        throw lost(stream, this.#replicated, 'no record of this log');
      this.#position = seq;
      return;
    }
    if (tip.logId !== this.#o.logId) throw fenced(stream, describeForeign(seq, tip));
    // Ids carry the chain over this writer's own payloads, so a match is a
    // match of content; #lastStoredId starts as the tip open read, which open
    // compared with the local record there (a copy has the same log id).
    let index = this.#sent.findIndex((s) => s.id === tip.id);
    // The tip lies past what was sent: publishes of an earlier writer of this
    // log (the process this one replaced) that landed after open read the
    // stream. Read on in this writer's own history up to it: the same id there
    // means the same history, anything else is fenced below.
    while (index === -1 && tip.id !== this.#lastStoredId) {
      const pulled = this.#expected ?? this.#replicated;
      if (pulled >= tip.nextSequence) break;
      const next = await this.#nextRecord();
      if (!next) break;
      this.#sent.push(next);
      if (next.id === tip.id) index = this.#sent.length - 1;
    }
    if (index !== -1) {
      for (const item of this.#sent.splice(0, index + 1)) this.#stored(item);
    } else if (tip.id !== this.#lastStoredId) {
      if (tip.nextSequence < this.#replicated) {
        throw lost(stream, this.#replicated, `its last record ending at ${tip.nextSequence - 1}`);
      }
      throw fenced(
        stream,
        `record ${tip.firstSequence} to ${tip.nextSequence - 1} (${tip.id}), which is not in this writer's history`,
      );
    }
    this.#position = seq;
  }

  async #idle(): Promise<void> {
    if (this.#stopping) return;
    await this.#pushed();
  }

  #notify(): void {
    this.#signalled = true;
    this.#wake?.();
  }

  // Resolves at the next push() (or stop()), or at once for one since #dispatch last began.
  #pushed(): Promise<typeof PUSHED> {
    if (this.#signalled) return Promise.resolve(PUSHED);
    return new Promise((resolve) => {
      this.#wake = () => {
        this.#wake = undefined;
        resolve(PUSHED);
      };
    });
  }

  #fail(error: WalError): void {
    if (this.#error) return;
    this.#error = error;
    this.#waiters.fail(error);
    this.#live.length = 0;
  }
}

function stoppedError(): WalError {
  return new WalError(
    ErrorCode.CLOSED,
    'expected the writer to go on publishing, found it closed: what the stream had not stored stays in the local log, and the next open publishes it',
  );
}

function lost(stream: string, replicated: number, found: string): WalError {
  return streamLost(
    stream,
    `every record it acknowledged (through sequence ${replicated - 1})`,
    found,
  );
}
