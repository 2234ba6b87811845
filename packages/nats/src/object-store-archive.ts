import {
  JetStreamApiError,
  type JetStreamManager,
  jetstreamManager,
  StorageType,
} from '@nats-io/jetstream';
import { type ObjectInfo, type ObjectStore, Objm } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { describeValue, ErrorCode, WalError } from '@wal/codec';
import { segmentFileName } from '@wal/fs/segments';
import type { ArchivedSegment, ArchiveTarget } from '@wal/recovery';
import { invalidOption, remoteError } from './errors.js';

/** Options of {@link ObjectStoreArchive.open}. */
export interface ObjectStoreArchiveOptions {
  nats: NatsConnection;
  /** The Object Store bucket; created on first use with `replicas` file-backed replicas. */
  bucket: string;
  /** Replicas of a bucket this open creates: an integer from 1 to 5. Default 3. */
  replicas?: number;
}

const FIELDS = ['segment', 'firstSequence', 'lastSequence', 'bytes'] as const;

/**
 * An archive target on a JetStream Object Store bucket: one object per
 * sealed segment, named as the segment file (`wal_00000007.log`), its
 * `ArchivedSegment` in the object's metadata. A put resolves once the
 * object's metadata message (published after every chunk was acknowledged)
 * is acknowledged by the bucket's stream, that is by a quorum of its
 * replicas. The first put of a segment creates it only if no other put got
 * there first (the object's revision is expected to be 0), so two archivers
 * never overwrite each other; a segment already archived is compared by
 * checksum and size, never replaced. A deleted object is absent, as a
 * removed file is for `directoryTarget`: the next put archives it again.
 */
export class ObjectStoreArchive implements ArchiveTarget {
  readonly #store: ObjectStore;
  readonly #jsm: JetStreamManager;
  readonly bucket: string;

  private constructor(store: ObjectStore, jsm: JetStreamManager, bucket: string) {
    this.#store = store;
    this.#jsm = jsm;
    this.bucket = bucket;
  }

  /**
   * Opens the bucket, creating it unless it exists. Bad options reject with
   * `WAL_INVALID_OPTIONS` before any request; a failed request rejects with
   * `WAL_REMOTE_ERROR`.
   */
  static async open(options: ObjectStoreArchiveOptions): Promise<ObjectStoreArchive> {
    if (typeof options !== 'object' || options === null) {
      throw invalidOption('options', 'an object', options);
    }
    const { nats, bucket, replicas = 3 } = options;
    if (typeof nats?.publish !== 'function') throw invalidOption('nats', 'a NatsConnection', nats);
    if (typeof bucket !== 'string' || !/^[\w-]+$/.test(bucket)) {
      throw invalidOption('bucket', 'a bucket name (letters, digits, _ and -)', bucket);
    }
    // As for a stream: 0 would silently make 1, a bucket no quorum protects.
    if (!(Number.isInteger(replicas) && replicas >= 1 && replicas <= 5)) {
      throw invalidOption('replicas', 'an integer from 1 to 5', replicas);
    }
    try {
      const store = await new Objm(nats).create(bucket, { replicas, storage: StorageType.File });
      return new ObjectStoreArchive(store, await jetstreamManager(nats), bucket);
    } catch (error) {
      throw remoteError(`opening object store ${bucket}`, error);
    }
  }

  async put(info: ArchivedSegment, data: Uint8Array, signal?: AbortSignal): Promise<void> {
    checkInfo(info, data);
    signal?.throwIfAborted();
    const name = segmentFileName(info.segment);
    const latest = await this.#latest(name);
    if (latest && !latest.deleted) return same(latest, info);
    try {
      // Only over what was read: nothing, or a deleted object (absent, as a
      // file removed from a directoryTarget is: the segment is archived again).
      await this.#store.putBlob(
        { name, description: `@wal segment ${info.segment}`, metadata: toMetadata(info) },
        data,
        { previousRevision: latest?.revision ?? 0 },
      );
    } catch (error) {
      // Another put created it first: the same segment is success, another one a conflict.
      const raced = error instanceof JetStreamApiError ? await this.#info(name) : null;
      if (raced) return same(raced, info);
      throw remoteError(`storing ${name} in bucket ${this.bucket}`, error);
    }
  }

  async get(segment: number, signal?: AbortSignal): Promise<Uint8Array | undefined> {
    signal?.throwIfAborted();
    const name = segmentFileName(segment);
    const info = await this.#info(name);
    if (!info) return undefined;
    let data: Uint8Array | null;
    try {
      // The client checks the object's SHA-256 digest as it reads.
      data = await this.#store.getBlob(name);
    } catch (error) {
      throw remoteError(`reading ${name} from bucket ${this.bucket}`, error);
    }
    if (data === null) return undefined;
    const archived = segmentOf(info, this.bucket);
    if (data.length !== archived.bytes) {
      throw new WalError(
        ErrorCode.REMOTE_ERROR,
        `expected ${name} in bucket ${this.bucket} to hold ${archived.bytes} bytes, found ${data.length}`,
      );
    }
    return data;
  }

  async list(signal?: AbortSignal): Promise<ArchivedSegment[]> {
    signal?.throwIfAborted();
    let infos: ObjectInfo[];
    try {
      infos = await this.#metadata();
    } catch (error) {
      throw remoteError(`listing bucket ${this.bucket}`, error);
    }
    return infos
      .filter((info) => !info.deleted)
      .map((info) => segmentOf(info, this.bucket))
      .sort((a, b) => a.segment - b.segment);
  }

  // Every object's latest metadata, read from the bucket's stream leader:
  // the subjects it holds, then the last message of each. (The client's own
  // list() reads through an ephemeral consumer and ends at its first idle
  // heartbeat, which under load can come before the last object.)
  async #metadata(): Promise<ObjectInfo[]> {
    const stream = `OBJ_${this.bucket}`;
    const filter = `$O.${this.bucket}.M.>`;
    const { state } = await this.#jsm.streams.info(stream, { subjects_filter: filter });
    const out: ObjectInfo[] = [];
    for (const subject of Object.keys(state.subjects ?? {})) {
      const message = await this.#jsm.streams.getMessage(stream, { last_by_subj: subject });
      if (message) out.push(message.json<ObjectInfo>());
    }
    return out;
  }

  async #info(name: string): Promise<ObjectInfo | null> {
    const info = await this.#latest(name);
    return info && !info.deleted ? info : null;
  }

  // The object's latest info, a deleted one's included (its revision is what a put replaces).
  async #latest(name: string): Promise<ObjectInfo | null> {
    try {
      return await this.#store.info(name);
    } catch (error) {
      throw remoteError(`reading ${name}'s info from bucket ${this.bucket}`, error);
    }
  }
}

function same(existing: ObjectInfo, info: ArchivedSegment): void {
  const archived = fromMetadata(existing);
  if (archived && archived.checksum === info.checksum && existing.size === info.bytes) return;
  throw new WalError(
    ErrorCode.ARCHIVE_CONFLICT,
    `expected ${existing.name} in bucket ${existing.bucket} to be absent or hold checksum ${info.checksum} (${info.bytes} bytes), found checksum ${archived?.checksum ?? 'none'} (${existing.size} bytes)`,
  );
}

function checkInfo(info: ArchivedSegment, data: Uint8Array): void {
  for (const field of FIELDS) {
    if (!Number.isSafeInteger(info?.[field]) || (info[field] as number) < 0) {
      throw new WalError(
        ErrorCode.INVALID_ARGUMENT,
        `expected info.${field} to be a non-negative safe integer, found ${describeValue(info?.[field])}`,
      );
    }
  }
  if (typeof info.checksum !== 'string' || info.checksum.length === 0) {
    throw new WalError(
      ErrorCode.INVALID_ARGUMENT,
      `expected info.checksum to be a non-empty string, found ${describeValue(info.checksum)}`,
    );
  }
  if (!(data instanceof Uint8Array) || data.length !== info.bytes) {
    throw new WalError(
      ErrorCode.INVALID_ARGUMENT,
      `expected data of info.bytes (${info.bytes}) bytes, found ${describeValue(data)}`,
    );
  }
}

function toMetadata(info: ArchivedSegment): Record<string, string> {
  const metadata: Record<string, string> = { checksum: info.checksum };
  for (const field of FIELDS) metadata[field] = String(info[field]);
  return metadata;
}

// The object's ArchivedSegment; an object without one is not this archive's.
function segmentOf(info: ObjectInfo, bucket: string): ArchivedSegment {
  const archived = fromMetadata(info);
  if (archived) return archived;
  throw new WalError(
    ErrorCode.REMOTE_ERROR,
    `expected object ${info.name} of bucket ${bucket} to carry an @wal segment's metadata, found ${JSON.stringify(info.metadata ?? {})}`,
  );
}

function fromMetadata(info: ObjectInfo): ArchivedSegment | null {
  const m = info.metadata ?? {};
  const values = FIELDS.map((field) => Number(m[field]));
  if (!values.every(Number.isSafeInteger) || typeof m.checksum !== 'string') return null;
  const [segment, firstSequence, lastSequence, bytes] = values as [number, number, number, number];
  return { segment, firstSequence, lastSequence, bytes, checksum: m.checksum };
}
