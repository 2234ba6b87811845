import {
  decodeFrameAt,
  ErrorCode,
  encodeBatchFrame,
  MAX_RECORD_BYTES_LIMIT,
  SEGMENT_HEADER_SIZE,
  saltSeed,
  type WalEntry,
  WalError,
  type WalOp,
} from '@wal/codec';

/**
 * One record of the log as it travels through the stream: the batch frame
 * exactly as the segment holds it, but with the log's salt (the first four
 * bytes of its id) and a fixed synced watermark, so that its CRC covers the
 * log's identity end to end and the codec's own decoder validates it.
 */
export interface RecordMessage {
  logId: string;
  firstSequence: number;
  /** The sequence after the record's last entry. */
  nextSequence: number;
  /** The frame: what is published. */
  payload: Uint8Array;
}

/** Header names on every record message (besides `Nats-Msg-Id`). */
export const HEADER_LOG = 'Wal-Log';
export const HEADER_SEQUENCE = 'Wal-Sequence';
export const HEADER_NEXT = 'Wal-Next';

/** The stream's deduplication id of a record: the log's identity and its first sequence. */
export function messageId(logId: string, firstSequence: number): string {
  return `${logId}:${firstSequence}`;
}

function saltOf(logId: string): number {
  return Number.parseInt(logId.slice(0, 8), 16) >>> 0;
}

/** Encodes a record (ops with consecutive sequences from `firstSequence`) for the stream. */
export function encodeRecordMessage(
  logId: string,
  firstSequence: number,
  ops: readonly WalOp[],
  maxRecordBytes = MAX_RECORD_BYTES_LIMIT,
): RecordMessage {
  const context = { salt: saltOf(logId), synced: SEGMENT_HEADER_SIZE };
  const payload = encodeBatchFrame(context, firstSequence, ops, maxRecordBytes);
  return { logId, firstSequence, nextSequence: firstSequence + ops.length, payload };
}

/** The ops of entries read back from the log: what a record message is made of. */
export function opsOf(entries: readonly WalEntry[]): WalOp[] {
  return entries.map((entry) =>
    entry.type === 'put'
      ? { type: 'put', key: entry.key, value: entry.value }
      : { type: 'delete', key: entry.key },
  );
}

/** A record message read from the stream, checked. */
export interface DecodedRecordMessage {
  logId: string;
  firstSequence: number;
  nextSequence: number;
  /** Views into `payload`. */
  entries: WalEntry[];
}

/**
 * Decodes a message of the stream. Anything but an intact record of the log
 * its header names (a foreign message, a damaged payload, headers that
 * disagree with the frame) throws `WAL_CORRUPTION`-free `WAL_REMOTE_ERROR`:
 * it did not come from an @wal writer.
 */
export function decodeRecordMessage(
  payload: Uint8Array,
  headers: { get(name: string): string } | undefined,
  where: string,
): DecodedRecordMessage {
  const logId = headers?.get(HEADER_LOG) ?? '';
  if (!/^[0-9a-f]{16}$/.test(logId)) {
    throw bad(where, `a ${HEADER_LOG} header of 16 hex digits`, JSON.stringify(logId));
  }
  const result = decodeFrameAt(payload, 0, payload.length, {
    maxRecordBytes: MAX_RECORD_BYTES_LIMIT,
    seed: saltSeed(saltOf(logId)),
    frameOffset: SEGMENT_HEADER_SIZE,
  });
  if (result.kind !== 'frame' || result.size !== payload.length) {
    const found =
      result.kind === 'damage'
        ? `${result.reason}: ${result.detail}`
        : result.kind === 'incomplete'
          ? `${payload.length} bytes, a frame cut short`
          : 'bytes after the frame';
    throw bad(where, `one intact batch frame of log ${logId}`, found);
  }
  const { record } = result;
  if (record.type !== 'batch') throw bad(where, 'a batch record', `a ${record.type} record`);
  const nextSequence = record.firstSequence + record.entries.length;
  const claimed = headers?.get(HEADER_SEQUENCE);
  if (claimed !== String(record.firstSequence)) {
    throw bad(where, `${HEADER_SEQUENCE} ${record.firstSequence} (the frame's)`, String(claimed));
  }
  return { logId, firstSequence: record.firstSequence, nextSequence, entries: record.entries };
}

function bad(where: string, expected: string, found: string): WalError {
  return new WalError(
    ErrorCode.REMOTE_ERROR,
    `expected ${where} to be ${expected}, found ${found}`,
  );
}
