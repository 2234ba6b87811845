import {
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  StorageType,
  type StoredMsg,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { ErrorCode, WalError } from '@wal/codec';
import { HEADER_LOG, HEADER_NEXT, HEADER_SEQUENCE } from './message.js';

/** The chain value's header: a CRC-32 over every record payload of the stream so far. */
export const HEADER_CHAIN = 'Wal-Chain';

/** A record message as the stream stores it: where, and what it claims. */
export interface StoredRecord {
  /** Stream sequence. */
  seq: number;
  /** The `Nats-Msg-Id`. */
  id: string;
  logId: string;
  firstSequence: number;
  nextSequence: number;
  chain: number;
}

/** Options for a stream created on first use. */
export interface StreamSetup {
  /** Replicas of a stream created here. Default 3. */
  replicas?: number | undefined;
  /** The stream's deduplication window in ms. Default 120 000 (the server's default). */
  duplicateWindowMs?: number | undefined;
}

/** True for the server's answer that the stream does not exist. */
export function isStreamNotFound(error: unknown): boolean {
  return error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound;
}

/**
 * Creates the stream for `subject` unless it exists; an existing one must
 * capture exactly `subject` (`WAL_INVALID_OPTIONS`). NATS errors are thrown
 * as they are, for a retry.
 */
export async function ensureStream(
  jsm: JetStreamManager,
  stream: string,
  subject: string,
  setup: StreamSetup,
): Promise<void> {
  try {
    const { config } = await jsm.streams.info(stream);
    // Another subject's messages would come between this log's records,
    // and a stream without this one would never store them.
    const subjects = config.subjects ?? [];
    if (subjects.length !== 1 || subjects[0] !== subject) {
      throw new WalError(
        ErrorCode.INVALID_OPTIONS,
        `expected stream ${stream} to capture exactly the subject ${subject}, found ${JSON.stringify(subjects)}: one log per stream`,
      );
    }
    return;
  } catch (error) {
    if (!isStreamNotFound(error)) throw error;
  }
  await jsm.streams.add({
    name: stream,
    subjects: [subject],
    num_replicas: setup.replicas ?? 3,
    storage: StorageType.File,
    duplicate_window: nanos(setup.duplicateWindowMs ?? 120_000),
    // A purge or a deleted message takes acknowledged records away, while
    // the server still answers their resends as duplicates (it keeps the ids).
    deny_delete: true,
    deny_purge: true,
  });
}

/**
 * True when a stream with `subjects` stores what is published on `subject`,
 * through any of them, wildcards included. Open asks for more (`subject` as
 * the only one); a running writer whose stream's subjects were changed
 * only needs its publishes stored.
 */
export function captures(subjects: readonly string[], subject: string): boolean {
  return subjects.some((pattern) => subjectMatches(pattern, subject));
}

/** `WAL_INVALID_OPTIONS`: the stream no longer stores what this writer publishes. */
export function notCaptured(
  stream: string,
  subject: string,
  found: string,
  cause?: unknown,
): WalError {
  return new WalError(
    ErrorCode.INVALID_OPTIONS,
    `expected stream ${stream} to capture the subject ${subject}, found ${found}: its subjects were changed after open; replication stopped (the local log keeps every record)`,
    { cause },
  );
}

// NATS subject matching: `*` is one token, a last `>` one or more.
function subjectMatches(pattern: string, subject: string): boolean {
  const want = pattern.split('.');
  const have = subject.split('.');
  for (const [i, token] of want.entries()) {
    if (token === '>' && i === want.length - 1) return have.length > i;
    if (i >= have.length || (token !== '*' && token !== have[i])) return false;
  }
  return want.length === have.length;
}

/** What a stored message claims to be, or null for a message no @wal writer published. */
export function storedRecordOf(message: StoredMsg): StoredRecord | null {
  const header = message.header;
  const id = header?.get('Nats-Msg-Id') ?? '';
  const logId = header?.get(HEADER_LOG) ?? '';
  const firstSequence = Number(header?.get(HEADER_SEQUENCE));
  const nextSequence = Number(header?.get(HEADER_NEXT));
  const chain = Number.parseInt(header?.get(HEADER_CHAIN) ?? '', 16);
  if (!logId || !Number.isSafeInteger(firstSequence) || !Number.isSafeInteger(nextSequence)) {
    return null;
  }
  return { seq: message.seq, id, logId, firstSequence, nextSequence, chain };
}

/**
 * The last message on `subject` (null for none) and the stream's last
 * sequence (any subject's), read before it: a message stored in between
 * makes a publish expecting `lastSeq` fail, never succeed wrongly. And the
 * stream's subjects, as read then.
 */
export async function streamTip(
  jsm: JetStreamManager,
  stream: string,
  subject: string,
): Promise<{ tip: StoredMsg | null; lastSeq: number; subjects: string[] }> {
  const info = await jsm.streams.info(stream);
  const tip =
    info.state.messages === 0
      ? null
      : await jsm.streams.getMessage(stream, { last_by_subj: subject });
  return { tip, lastSeq: info.state.last_seq, subjects: info.config.subjects ?? [] };
}

/**
 * The stream sequence of the first stored record whose entries reach past
 * `sequence` (binary search: the stream holds one log's records in order),
 * or null when every record ends at or before it.
 */
export async function findRecord(
  jsm: JetStreamManager,
  stream: string,
  sequence: number,
): Promise<{ seq: number; first: StoredRecord } | null> {
  const { state } = await jsm.streams.info(stream);
  if (state.messages === 0) return null;
  let lo = state.first_seq;
  let hi = state.last_seq;
  let found: StoredRecord | null = null;
  while (lo <= hi) {
    const mid = Math.floor((lo + hi) / 2);
    const record = await recordAt(jsm, stream, mid);
    if (record === null) {
      // A gap (deleted message): look to the right of it.
      lo = mid + 1;
      continue;
    }
    if (record.nextSequence > sequence) {
      found = record;
      hi = mid - 1;
    } else {
      lo = mid + 1;
    }
  }
  return found === null ? null : { seq: found.seq, first: found };
}

async function recordAt(
  jsm: JetStreamManager,
  stream: string,
  seq: number,
): Promise<StoredRecord | null> {
  const message = await jsm.streams.getMessage(stream, { seq });
  return message ? storedRecordOf(message) : null;
}
