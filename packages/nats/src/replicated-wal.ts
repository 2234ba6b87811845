import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { type BytesLike, FRAME_HEADER_SIZE, toBytes, type WalError, type WalOp } from '@wal/codec';
import { type BatchOp, nodeFs, Wal, type WalFs, type WalOptions, type WalState } from '@wal/fs';
import { type ArchiveOptions, type Archiver, archiveLog } from '@wal/recovery';
import { checkArchiveOptions } from '@wal/recovery/internal';
import { fenced, invalidOption as invalid, streamLost } from './errors.js';
import { type LogEnd, localRecordAt, localRecords } from './local-records.js';
import { encodeRecordMessage } from './message.js';
import {
  Publisher,
  type ReplicationStats,
  readPosition,
  type StreamPosition,
} from './publisher.js';
import { retrying } from './retry.js';
import { ensureStream, type StreamSetup } from './stream.js';

/**
 * When an append of a {@link ReplicatedWal} resolves.
 *
 * - `'replicated'` (default): the record is durable locally (as the log's
 *   `sync` mode promises) **and** the stream acknowledged it: the stream's
 *   leader stored it after a quorum of its replicas had it (see the README
 *   for what "had it" means per server version).
 * - `'local'`: the record is durable locally, as `Wal` promises; it is
 *   published in the background, and `replicatedSequence` / `waitReplicated`
 *   say when the stream has it.
 */
export type ReplicationAck = 'local' | 'replicated';

/** Options of {@link ReplicatedWal.open}: a `Wal`'s, and where to replicate to. */
export interface ReplicatedWalOptions extends WalOptions, StreamSetup {
  /** A connection to the JetStream cluster. The caller owns it (and closes it). */
  nats: NatsConnection;
  /** The stream's name; created on first use (`replicas`, `duplicateWindowMs`). One log per stream. */
  stream: string;
  /** The subject records are published on. Default `wal.<stream>`. */
  subject?: string;
  /** Default `'replicated'`; see {@link ReplicationAck}. */
  ack?: ReplicationAck;
  /** How long one publish waits for the stream's acknowledgement before it is retried, in ms. Default 5 000. */
  publishTimeoutMs?: number;
  /** Records published and not yet acknowledged at most. Default 256. */
  maxInFlight?: number;
  /** How long open retries while the cluster is unavailable (electing a leader, say), in ms. Default 30 000. */
  openTimeoutMs?: number;
  /**
   * Also ship every sealed segment to an archive target (an
   * {@link ObjectStoreArchive}, say) with `@wal/recovery`'s `archiveLog`:
   * its options but `wal`. See {@link ReplicatedWal.archiver}.
   */
  archive?: Omit<ArchiveOptions, 'wal'>;
}

// Headers of a record message (ids, sequences, the chain), with room to spare.
const HEADER_ALLOWANCE = 1024;
const CLOSE_TIMEOUT_MS = 30_000;

/**
 * A `Wal` whose records are also published, in order, to a NATS JetStream
 * stream: one message per record (a put, a delete, or a batch whole), only
 * once the record is durable locally. On open it publishes what the stream
 * does not have yet (the records a crash left unacknowledged), then every
 * new record. A second writer on the same stream is fenced: its appends
 * reject with `WAL_FENCED`. See the package README.
 */
export class ReplicatedWal {
  readonly #wal: Wal;
  readonly #publisher: Publisher;
  readonly #ack: ReplicationAck;
  readonly #maxRecordBytes: number;
  /** The archiver of the `archive` option, or undefined without one. It ends with the log. */
  readonly archiver: Archiver | undefined;
  /** Set by close(): it reads as the state from then on. */
  #ended: 'closing' | 'closed' | undefined;
  /** The one close: every `close()` returns it. */
  #closed: Promise<void> | undefined;

  private constructor(
    wal: Wal,
    publisher: Publisher,
    ack: ReplicationAck,
    maxRecordBytes: number,
    archiver: Archiver | undefined,
  ) {
    this.#wal = wal;
    this.#publisher = publisher;
    this.#ack = ack;
    this.#maxRecordBytes = maxRecordBytes;
    this.archiver = archiver;
  }

  /**
   * Opens the log (as `Wal.open`), creates the stream unless it exists,
   * reads where the stream's copy of this log ends and starts publishing
   * from there. Every option is checked before any request to NATS.
   * Rejects with `WAL_FENCED` when the stream's last record is another
   * log's (or no @wal record), lies beyond this log's end, or is not the
   * record the local log holds at its sequences (a copy of the directory
   * that diverged: other entries, or other record boundaries; one local
   * record is read and compared byte for byte, and the comparison is
   * skipped only when the local log no longer holds that record, deleted by
   * retention or replaced by a repair's hole),
   * `WAL_INVALID_OPTIONS` for bad options (a record limit above the
   * server's `max_payload` included) or an existing stream whose subjects
   * are not exactly `subject`, `WAL_REMOTE_ERROR` when the cluster cannot
   * be reached or the stream is empty after holding messages while this
   * log has records.
   */
  static async open(options: ReplicatedWalOptions): Promise<ReplicatedWal> {
    const {
      nats,
      stream,
      subject = `wal.${options.stream}`,
      ack = 'replicated',
      publishTimeoutMs = 5_000,
      maxInFlight = 256,
      openTimeoutMs = 30_000,
      archive,
      replicas,
      duplicateWindowMs,
      ...walOptions
    } = checkOptions(options);
    const maxPayload = nats.info?.max_payload ?? 1024 * 1024;
    const limit = maxPayload - FRAME_HEADER_SIZE - HEADER_ALLOWANCE;
    const maxRecordBytes = walOptions.maxRecordBytes ?? Math.min(limit, 16 * 1024 * 1024);
    if (maxRecordBytes > limit) {
      throw invalid(
        'maxRecordBytes',
        `at most ${limit} (the server's max_payload ${maxPayload} less frame and headers)`,
        maxRecordBytes,
      );
    }
    // Wal.open checks its own options before any I/O; the archiver's come
    // first, as it is made only once the log is open. So a refused open
    // leaves nothing on disk and creates no stream.
    if (archive !== undefined) checkArchiveOptions(archive);
    const wal = await Wal.open({ ...walOptions, maxRecordBytes });
    let archiver: Archiver | undefined;
    try {
      archiver = archive ? archiveLog({ ...archive, wal }) : undefined;
      const jsm = await retrying(nats, 'reaching JetStream', openTimeoutMs, () =>
        jetstreamManager(nats),
      );
      await retrying(nats, `creating stream ${stream}`, openTimeoutMs, () =>
        ensureStream(jsm, stream, subject, { replicas, duplicateWindowMs }),
      );
      const position = await retrying(nats, `reading stream ${stream}`, openTimeoutMs, () =>
        readPosition(jsm, stream, subject, wal.logId),
      );
      // What the log holds now is what catch-up publishes: make it durable first.
      await wal.sync();
      const end = { segment: wal.segment, size: wal.segmentSize, nextSequence: wal.nextSequence };
      const from = position.last?.nextSequence ?? null;
      // Emptied (purged, or its limits removed every message): whether it
      // held this log's records no one can tell, and resends of them would
      // be acknowledged as duplicates of messages it no longer has.
      if (from === null && position.seq > 0 && end.nextSequence > 0) {
        throw streamLost(
          stream,
          `this log's records (the log in ${wal.dir} ends at sequence ${end.nextSequence - 1}) or never to have held any`,
          `it empty after ${position.seq} messages; replicate this log to a new stream`,
        );
      }
      if (from !== null && from > end.nextSequence) {
        throw fenced(
          stream,
          `records of this log through sequence ${from - 1}, while the log in ${wal.dir} ends at ${end.nextSequence - 1}`,
        );
      }
      // A copy of the directory has this log's id: only the content tells its history from the stream's.
      if (position.last !== null) {
        await checkSameRecord(
          walOptions.fs ?? nodeFs,
          wal.dir,
          wal.logId,
          stream,
          position.last,
          end,
        );
      }
      // Last: the publisher starts publishing as it is made.
      const publisher = new Publisher({
        nats,
        js: jetstream(nats),
        jsm,
        stream,
        subject,
        logId: wal.logId,
        position,
        catchUp: localRecords(walOptions.fs ?? nodeFs, wal.dir, wal.logId, from, end),
        waitDurable: (sequence) => wal.waitDurable(sequence),
        timeoutMs: publishTimeoutMs,
        maxInFlight,
      });
      return new ReplicatedWal(wal, publisher, ack, maxRecordBytes, archiver);
    } catch (error) {
      await archiver?.close();
      await wal.close();
      throw error;
    }
  }

  /** The log's identity (16 hex digits): part of every message id. */
  get logId(): string {
    return this.#wal.logId;
  }

  /** The sequence the next append will get. */
  get nextSequence(): number {
    return this.#wal.nextSequence;
  }

  /** The log's directory. */
  get dir(): string {
    return this.#wal.dir;
  }

  /**
   * The local log's `Wal.state` (see `WalState`): `'failed'` once a sync
   * failed, after which every append rejects with `WAL_FAILED` until the
   * log is closed and reopened (see {@link ReplicatedWal.failure}). From
   * `close()` until it resolves, `'closing'`, also while it waits for the
   * stream after the log itself closed; then `'closed'`. Replication's own
   * end is {@link ReplicatedWal.replicationError}, not a state.
   */
  get state(): WalState {
    return this.#ended ?? this.#wal.state;
  }

  /** `Wal.failure`: why the local log failed (`state: 'failed'`), or undefined. Its `cause` is the I/O error. */
  get failure(): WalError | undefined {
    return this.#wal.failure;
  }

  /**
   * `Wal.retentionError`: why the last `maxSegments` retention failed (a
   * segment's unlink or the directory fsync), or undefined once a later one
   * succeeds. A rotation for a full segment rejects no append when its
   * retention fails, so this is where that failure shows; `rotate()` also
   * rejects with it. The log stays open, and the next rotation tries again.
   */
  get retentionError(): WalError | undefined {
    return this.#wal.retentionError;
  }

  /** Every sequence below this one is stored in the stream, as far as this writer has heard. */
  get replicatedSequence(): number {
    return this.#publisher.replicatedSequence;
  }

  /** What the publisher did since open: records published, duplicates acknowledged, resyncs. */
  get replicationStats(): Readonly<ReplicationStats> {
    return this.#publisher.stats;
  }

  /**
   * Why replication stopped for good, or undefined. `WAL_FENCED`: another
   * writer's history is in the stream. `WAL_REMOTE_ERROR`: the cluster
   * refused a publish for good, or lost records it had acknowledged.
   * `WAL_INVALID_OPTIONS`: the stream's subjects were changed after open so
   * that it no longer captures `subject` (found when a publish fails, its
   * `cause`), or another stream acknowledged a record. Or the
   * catch-up could not read the local log: `WAL_TRUNCATED` (retention
   * deleted records the stream lacks, or a repair left a hole),
   * `WAL_CORRUPTION` (such a record is damaged), or the log's own failure.
   * Appends reject with it from then on.
   */
  get replicationError(): WalError | undefined {
    return this.#publisher.error;
  }

  /** Appends a put; resolves to its sequence per {@link ReplicationAck}. */
  put(key: BytesLike, value: BytesLike): Promise<number> {
    return this.#append(
      () => this.#wal.put(key, value),
      () => [{ type: 'put', key: toBytes(key, 'key'), value: toBytes(value, 'value') }],
    );
  }

  /** Appends a delete; resolves to its sequence per {@link ReplicationAck}. */
  delete(key: BytesLike): Promise<number> {
    return this.#append(
      () => this.#wal.delete(key),
      () => [{ type: 'delete', key: toBytes(key, 'key') }],
    );
  }

  /** Appends ops as one atomic record (one message); resolves to the first sequence. */
  batch(ops: readonly BatchOp[]): Promise<number> {
    let taken: readonly BatchOp[];
    try {
      taken = takeOps(ops);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#append(
      () => this.#wal.batch(taken),
      () =>
        taken.map(
          (op, i): WalOp =>
            op.type === 'put'
              ? {
                  type: 'put',
                  key: toBytes(op.key, `ops[${i}].key`),
                  value: toBytes(op.value, `ops[${i}].value`),
                }
              : { type: 'delete', key: toBytes(op.key, `ops[${i}].key`) },
        ),
    );
  }

  /** `Wal.sync`: makes every append durable locally (and so publishable). */
  sync(): Promise<void> {
    return this.#wal.sync();
  }

  /** `Wal.rotate`: seals the active segment (which the `archive` option then ships). */
  rotate(): Promise<void> {
    return this.#wal.rotate();
  }

  /**
   * `Wal.truncateThrough`, but never past what the stream stored: a segment
   * goes only once every entry in it is at or below both `sequence` and the
   * last replicated sequence (and no archiver still holds it).
   */
  truncateThrough(sequence: number): Promise<number> {
    const replicated = this.#publisher.replicatedSequence - 1;
    if (replicated < 0) return Promise.resolve(0);
    return this.#wal.truncateThrough(Math.min(sequence, replicated));
  }

  /**
   * Resolves once the stream stored every sequence up to and including
   * `sequence`. Rejects with `replicationError` once there is one, and with
   * `WAL_CLOSED` when `close()` stopped publishing before the stream had it.
   */
  waitReplicated(sequence: number, signal?: AbortSignal): Promise<void> {
    return this.#publisher.waitFor(sequence, signal);
  }

  /**
   * Closes the log, then waits (up to 30 s, or until `signal` aborts) for
   * the stream to store what is pending, and stops publishing. What the
   * stream did not store stays in the local log; the next open sends it.
   * An append still waiting for the stream (ack `'replicated'`) rejects
   * with `WAL_CLOSED`: durable locally, not known to be replicated. Every
   * call returns the first call's promise (a later call's `signal` is not
   * used): a second close cannot cut the first's wait short.
   */
  close(options: { signal?: AbortSignal } = {}): Promise<void> {
    this.#closed ??= this.#close(options);
    return this.#closed;
  }

  async #close(options: { signal?: AbortSignal }): Promise<void> {
    const last = this.#wal.nextSequence - 1;
    this.#ended = 'closing';
    try {
      await this.#wal.close();
      if (last >= 0 && !this.#publisher.error) {
        const signal = options.signal ?? AbortSignal.timeout(CLOSE_TIMEOUT_MS);
        await this.#publisher.waitFor(last, signal).catch(() => undefined);
      }
    } finally {
      await this.#publisher.stop();
      await this.archiver?.done.catch(() => undefined);
      this.#ended = 'closed';
    }
  }

  /** {@link ReplicatedWal.close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #append(call: () => Promise<number>, ops: () => WalOp[]): Promise<number> {
    const error = this.#publisher.error;
    if (error) return Promise.reject(error);
    const first = this.#wal.nextSequence;
    const appended = call();
    // The sequences were taken synchronously; none taken means the call was refused.
    if (this.#wal.nextSequence === first) return appended;
    const record = encodeRecordMessage(this.logId, first, ops(), this.#maxRecordBytes);
    return appended.then(async (sequence) => {
      this.#publisher.push(record);
      if (this.#ack === 'replicated') await this.#publisher.waitFor(record.nextSequence - 1);
      return sequence;
    });
  }
}

// Reads each op's fields once (a getter may answer differently each time),
// so the log and the stream get the same bytes; Wal.batch checks the copy.
function takeOps(ops: readonly BatchOp[]): readonly BatchOp[] {
  if (!Array.isArray(ops)) return ops;
  return ops.map((op: unknown): BatchOp => {
    if (typeof op !== 'object' || op === null) return op as BatchOp;
    const { type, key } = op as { type: unknown; key: unknown };
    const copy = 'value' in op ? { type, key, value: op.value } : { type, key };
    return copy as BatchOp;
  });
}

function checkOptions(options: ReplicatedWalOptions): ReplicatedWalOptions {
  if (typeof options !== 'object' || options === null) {
    throw invalid('options', 'an object', options);
  }
  const { nats, stream, subject, ack, publishTimeoutMs, maxInFlight, openTimeoutMs } = options;
  if (typeof nats?.publish !== 'function') throw invalid('nats', 'a NatsConnection', nats);
  if (typeof stream !== 'string' || !/^[\w-]+$/.test(stream)) {
    throw invalid('stream', 'a stream name (letters, digits, _ and -)', stream);
  }
  if (
    subject !== undefined &&
    (typeof subject !== 'string' || !/^[\w-]+(\.[\w-]+)*$/.test(subject))
  ) {
    throw invalid('subject', 'a subject without wildcards', subject);
  }
  if (ack !== undefined && ack !== 'local' && ack !== 'replicated') {
    throw invalid('ack', "'local' or 'replicated'", ack);
  }
  // Under 'none' only sync() makes a record durable, so publishable: a put
  // waiting for the stream would wait for a sync its caller has not made.
  if ((ack ?? 'replicated') === 'replicated' && options.sync === 'none') {
    throw invalid('sync', "'always' or 'interval' with ack 'replicated' (or ack 'local')", 'none');
  }
  if (
    publishTimeoutMs !== undefined &&
    !(Number.isInteger(publishTimeoutMs) && publishTimeoutMs > 0)
  ) {
    throw invalid('publishTimeoutMs', 'a positive integer', publishTimeoutMs);
  }
  if (openTimeoutMs !== undefined && !(Number.isInteger(openTimeoutMs) && openTimeoutMs >= 0)) {
    throw invalid('openTimeoutMs', 'a non-negative integer', openTimeoutMs);
  }
  if (maxInFlight !== undefined && !(Number.isInteger(maxInFlight) && maxInFlight > 0)) {
    throw invalid('maxInFlight', 'a positive integer', maxInFlight);
  }
  const { replicas, duplicateWindowMs } = options;
  // JetStream allows 1 to 5 replicas; 0 would silently make 1, a stream no quorum protects.
  if (replicas !== undefined && !(Number.isInteger(replicas) && replicas >= 1 && replicas <= 5)) {
    throw invalid('replicas', 'an integer from 1 to 5', replicas);
  }
  if (
    duplicateWindowMs !== undefined &&
    !(Number.isSafeInteger(duplicateWindowMs) && duplicateWindowMs > 0)
  ) {
    throw invalid('duplicateWindowMs', 'a positive integer', duplicateWindowMs);
  }
  return options;
}

/**
 * `WAL_FENCED` unless the local log's record at the stream's last record's
 * sequences is that record (the same frame, byte for byte). Nothing to
 * compare with (retention deleted it, a hole stands for it) passes: the
 * catch-up after it is all the check there is then.
 */
async function checkSameRecord(
  fs: WalFs,
  dir: string,
  logId: string,
  stream: string,
  tip: NonNullable<StreamPosition['last']>,
  end: LogEnd,
): Promise<void> {
  const local = await localRecordAt(fs, dir, logId, tip.firstSequence, end);
  if (local.kind === 'gone') return;
  const { firstSequence: first, nextSequence: next } = tip;
  const range = next - first === 1 ? `sequence ${first}` : `sequences ${first} to ${next - 1}`;
  const streamSide = `its last record of this log, at ${range} (${tip.id})`;
  if (local.kind === 'spanning') {
    throw fenced(
      stream,
      `${streamSide}, while the log in ${dir} holds a record spanning sequences ${local.firstSequence} to ${local.nextSequence - 1} there: this copy of the log diverged from the stream`,
    );
  }
  const { message } = local;
  if (message.nextSequence !== next || !sameBytes(message.payload, tip.payload)) {
    const theirs =
      message.nextSequence === next
        ? 'other entries'
        : `a record of sequences ${first} to ${message.nextSequence - 1}`;
    throw fenced(
      stream,
      `${streamSide}, while the log in ${dir} holds ${theirs} there: this copy of the log diverged from the stream`,
    );
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}
