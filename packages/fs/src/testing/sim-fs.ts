import path from 'node:path';
import type { WalFs } from '../wal-fs.js';
import {
  type CrashPlan,
  type CrashPlanOptions,
  countCrashPlans,
  crashImage,
  describeCrashPlan,
  enumerateCrashPlans,
  randomCrashPlan,
} from './crash.js';
import { errnoError } from './errno.js';
import { Fault, type FaultSpec, type FsOp } from './faults.js';
import { FileData } from './file-data.js';
import { type Random, randomInt, seededRandom } from './random.js';
import { norm, split, Volume } from './volume.js';

export interface SimFsOptions {
  /**
   * Which unsynced directory operations may survive a crash. `'any'`
   * (default): any subset, as POSIX allows. `'in-order'`: a prefix, as a file
   * system that journals metadata in order (ext4) gives.
   */
  dirOrder?: 'any' | 'in-order';
  /** When set, each write and writev writes a random number (at least 1) of its bytes. */
  shortWrites?: Random;
  /**
   * When set, an fdatasync is in flight until a later turn of the event loop,
   * as on the thread pool: it makes durable what the file held when it was
   * called, and only once it completes (its event is reported then). Calls
   * made meanwhile run: a write then is not covered by it, and a crash taken
   * then finds none of it durable yet. Default: it takes effect when called.
   */
  inFlightSyncs?: boolean;
}

/** Reported after every file-system call, failed or not. */
export interface OperationEvent {
  /** 1-based count of calls made on this file system so far. */
  index: number;
  op: FsOp;
  path: string;
  /** True when the call may have changed what a crash leaves. */
  mutating: boolean;
  error?: Error | undefined;
}

interface Handle {
  ino: number;
  path: string;
  readable: boolean;
  writable: boolean;
  /** Opened 'r+dsync': each write is followed by a sync of its range. */
  dsync: boolean;
}

const MUTATING: ReadonlySet<FsOp> = new Set<FsOp>([
  'write',
  'fdatasync',
  'fsyncDir',
  'ftruncate',
  'rename',
  'unlink',
  'mkdirp',
]);

/**
 * An in-memory {@link WalFs} that models the gap between written and durable.
 *
 * Writes land in a volatile layer; `fdatasync` makes a file's bytes durable.
 * Creating, renaming and deleting entries is durable only once the directory
 * is fsynced. {@link SimFs.crash} returns the file system as it could be
 * found after a power loss at this instant. Faults can be injected into any
 * call, and open handles are counted so leaks show.
 */
export class SimFs implements WalFs {
  /** Called after every call; crash loops take their crash states here. */
  onOperation: ((event: OperationEvent) => void) | undefined;

  readonly #options: SimFsOptions;
  #volume = new Volume();
  readonly #handles = new Map<number, Handle>();
  #nextFd = 100;
  readonly #locks = new Set<string>();
  #operations = 0;
  #faults: Fault[] = [];

  constructor(options: SimFsOptions = {}) {
    this.#options = options;
  }

  /** Calls made so far. */
  get operations(): number {
    return this.#operations;
  }

  /** File handles open now. Zero after a clean close: anything else is a leak. */
  get openHandles(): number {
    return this.#handles.size;
  }

  /** Directories locked now. */
  get locks(): number {
    return this.#locks.size;
  }

  open(file: string, flags: 'r' | 'r+' | 'wx+' | 'r+dsync'): Promise<number> {
    return this.#run(
      'open',
      file,
      () => {
        const p = norm(file);
        const entry = this.#volume.dir(path.posix.dirname(p), 'open').get(path.posix.basename(p));
        let ino: number;
        if (flags === 'wx+') {
          if (entry) throw errnoError('EEXIST', 'open', file);
          ino = this.#volume.create(p);
        } else {
          if (!entry) throw errnoError('ENOENT', 'open', file);
          if (entry.kind === 'dir') throw errnoError('EISDIR', 'open', file);
          ino = entry.ino;
        }
        const fd = this.#nextFd++;
        this.#handles.set(fd, {
          ino,
          path: p,
          readable: true,
          writable: flags !== 'r',
          dsync: flags === 'r+dsync',
        });
        return fd;
      },
      undefined,
      flags === 'wx+',
    );
  }

  close(fd: number): Promise<void> {
    // Linux releases the descriptor even when close reports an error.
    return this.#run(
      'close',
      this.#pathOf(fd),
      () => this.#release(fd),
      () => this.#handles.delete(fd),
    );
  }

  read(
    fd: number,
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number,
  ): Promise<number> {
    return this.#run('read', this.#pathOf(fd), () => {
      const h = this.#handle(fd, 'read');
      if (!h.readable) throw errnoError('EBADF', 'read', h.path);
      return this.#file(h).read(buffer, offset, length, position);
    });
  }

  // On an 'r+dsync' handle a write is two steps, each reported (a crash
  // between them finds the bytes written, not durable): the write, then the
  // sync of its range, which fails as an fdatasync does (the range's pages
  // marked clean, unwritten) and, with inFlightSyncs, completes a turn later.
  write(fd: number, buffer: Uint8Array, position: number): Promise<number> {
    const file = this.#pathOf(fd);
    const written = this.#run('write', file, () => this.#write(fd, buffer, position, 'write'));
    if (!this.#handles.get(fd)?.dsync) return written;
    return written.then(async (n) => {
      await this.syncWritten(fd, position, buffer.slice(0, n));
      return n;
    });
  }

  /**
   * The second step of a write on an `'r+dsync'` handle: the sync of the
   * `bytes` it wrote at `position`. A subclass may delay it (a test holding
   * syncs in flight).
   */
  protected async syncWritten(fd: number, position: number, bytes: Uint8Array): Promise<void> {
    if (this.#options.inFlightSyncs) await new Promise<void>((resolve) => setImmediate(resolve));
    const h = this.#handles.get(fd);
    await this.#run(
      'fdatasync',
      this.#pathOf(fd),
      () => this.#file(this.#handle(fd, 'write')).syncRange(position, bytes),
      () => {
        if (h) this.#volume.file(h.ino).failSyncRange(position, position + bytes.length);
      },
    );
  }

  fdatasync(fd: number): Promise<void> {
    const fail = () => {
      const h = this.#handles.get(fd);
      if (h) this.#volume.file(h.ino).failSync();
    };
    const file = this.#pathOf(fd);
    if (!this.#options.inFlightSyncs) {
      return this.#run(
        'fdatasync',
        file,
        () => this.#file(this.#handle(fd, 'fdatasync')).sync(),
        fail,
      );
    }
    const h = this.#handles.get(fd);
    const covered = h ? this.#volume.file(h.ino).snapshot() : undefined;
    return new Promise<void>((resolve) => setImmediate(resolve)).then(() =>
      this.#run(
        'fdatasync',
        file,
        () => this.#file(this.#handle(fd, 'fdatasync')).sync(covered),
        fail,
      ),
    );
  }

  fsyncDir(dir: string): Promise<void> {
    return this.#run('fsyncDir', dir, () => {
      this.#volume.dir(dir, 'fsync');
      this.#volume.fsyncDir(dir);
    });
  }

  ftruncate(fd: number, length: number): Promise<void> {
    return this.#run('ftruncate', this.#pathOf(fd), () => {
      const h = this.#handle(fd, 'ftruncate');
      if (!h.writable || !Number.isInteger(length) || length < 0) {
        throw errnoError('EINVAL', 'ftruncate', h.path);
      }
      this.#file(h).truncate(length);
    });
  }

  fsize(fd: number): Promise<number> {
    return this.#run('fsize', this.#pathOf(fd), () => this.#file(this.#handle(fd, 'fstat')).size);
  }

  stat(file: string): Promise<{ size: number; isFile: boolean; isDirectory: boolean }> {
    return this.#run('stat', file, () => {
      const entry = this.#volume.entry(file, 'stat');
      if (entry.kind === 'dir') return { size: 4096, isFile: false, isDirectory: true };
      return { size: this.#volume.file(entry.ino).size, isFile: true, isDirectory: false };
    });
  }

  rename(from: string, to: string): Promise<void> {
    return this.#run('rename', from, () => {
      const source = this.#volume.entry(from, 'rename');
      if (source.kind === 'dir') throw errnoError('ENOTSUP', 'rename', from);
      const target = norm(to);
      const existing = this.#volume
        .dir(path.posix.dirname(target), 'rename')
        .get(path.posix.basename(target));
      if (existing?.kind === 'dir') throw errnoError('EISDIR', 'rename', to);
      if (target === norm(from)) return;
      const a = split(norm(from));
      const b = split(target);
      // Handles follow the file, so later calls name it by its new path.
      for (const h of this.#handles.values()) if (h.path === norm(from)) h.path = target;
      this.#volume.change({
        kind: 'rename',
        fromDir: a.dir,
        fromName: a.name,
        toDir: b.dir,
        toName: b.name,
        entry: source,
      });
    });
  }

  unlink(file: string): Promise<void> {
    return this.#run('unlink', file, () => {
      const entry = this.#volume.entry(file, 'unlink');
      if (entry.kind === 'dir') throw errnoError('EISDIR', 'unlink', file);
      this.#volume.change({ kind: 'unlink', ...split(norm(file)), entry });
    });
  }

  readdir(dir: string): Promise<string[]> {
    return this.#run('readdir', dir, () => [...this.#volume.dir(dir, 'scandir').keys()]);
  }

  mkdirp(dir: string): Promise<void> {
    return this.#run('mkdirp', dir, () => {
      let current = '/';
      for (const name of norm(dir).split('/').filter(Boolean)) {
        const next = path.posix.join(current, name);
        const entry = this.#volume.dir(current, 'mkdir').get(name);
        if (entry?.kind === 'file') {
          throw errnoError(next === norm(dir) ? 'EEXIST' : 'ENOTDIR', 'mkdir', dir);
        }
        if (!entry)
          this.#volume.change({ kind: 'link', dir: current, name, entry: { kind: 'dir' } });
        current = next;
      }
    });
  }

  lock(dir: string): Promise<() => Promise<void>> {
    return this.#run('lock', dir, () => {
      const p = norm(dir);
      this.#volume.dir(p, 'lock');
      if (this.#locks.has(p)) {
        throw Object.assign(new Error(`${dir} is locked by this process`), { code: 'ELOCKED' });
      }
      this.#locks.add(p);
      return async () => {
        this.#locks.delete(p);
      };
    });
  }

  /**
   * Makes the next matching call(s) fail: see {@link FaultSpec}. Faults
   * stay armed until they fire (or forever, if persistent) or are disarmed.
   */
  inject(spec: FaultSpec = {}): Fault {
    const fault = new Fault(spec);
    this.#faults.push(fault);
    return fault;
  }

  /** Disarms every fault. */
  clearFaults(): void {
    for (const fault of this.#faults) fault.disarm();
    this.#faults = [];
  }

  /**
   * A new file system as a power loss at this instant could leave it. With
   * no argument, the worst case: only what was made durable. A number picks
   * a random state from that seed. Locks and handles do not survive.
   */
  crash(plan: CrashPlan | number = {}): SimFs {
    const chosen = typeof plan === 'number' ? this.randomCrashPlan(seededRandom(plan)) : plan;
    const image = crashImage(this.#crashSource(), chosen);
    const fs = new SimFs(this.#options);
    fs.#volume = Volume.fromImage(image, this.#volume.nextIno);
    return fs;
  }

  /**
   * A new file system as the next process sees it after this one was
   * killed: the operating system keeps every written byte and directory
   * entry in its page cache, still no more durable than it was. A later
   * {@link SimFs.crash} of it loses what neither process synced. The dead
   * process's locks and handles are gone. Pages that a failed fdatasync
   * marked clean without writing them are taken as evicted by then (the
   * worst case): they read as what is on disk.
   */
  kill(): SimFs {
    const fs = new SimFs(this.#options);
    fs.#volume = this.#volume.clone();
    fs.#volume.evictLost();
    return fs;
  }

  /** One possible post-crash state, chosen with `random`. */
  randomCrashPlan(random: Random): CrashPlan {
    return randomCrashPlan(this.#crashSource(), random);
  }

  /** Every interesting post-crash state of this instant (see {@link CrashPlanOptions}). */
  crashPlans(options: CrashPlanOptions = {}): Iterable<CrashPlan> {
    return enumerateCrashPlans(this.#crashSource(), options);
  }

  /** How many plans {@link SimFs.crashPlans} yields, without walking them. */
  countCrashPlans(options: CrashPlanOptions = {}): number {
    return countCrashPlans(this.#crashSource(), options);
  }

  /** A plan in words, for a failure message. */
  describeCrashPlan(plan: CrashPlan): string {
    return describeCrashPlan(this.#crashSource(), plan);
  }

  /** Makes every written byte and directory entry durable (a clean `sync`). */
  syncAll(): void {
    this.#volume.syncAll();
  }

  /** The inode number of `file`: the key of {@link CrashPlan.files}. */
  inode(file: string): number {
    return this.#fileEntry(file).ino;
  }

  /** A copy of the bytes at `file` as the process sees them. */
  readFile(file: string): Uint8Array {
    return this.#volume.file(this.#fileEntry(file).ino).current.slice();
  }

  /**
   * Creates or replaces `file` with `bytes`, durably, without counting as a
   * call: for setting a scene (foreign files, damaged segments) in a test.
   */
  writeFile(file: string, bytes: Uint8Array): void {
    const p = norm(file);
    this.#volume.dir(path.posix.dirname(p), 'open');
    this.#volume.create(p, FileData.durable(bytes));
    this.#volume.settleLast();
  }

  /** Every file and directory as the process sees them, by path (directories map to null). */
  snapshot(): Map<string, Uint8Array | null> {
    return this.#volume.snapshot();
  }

  #crashSource() {
    return this.#volume.crashSource(this.#options.dirOrder ?? 'any');
  }

  // The call takes effect at once (a crash taken at its event sees it); the
  // caller learns the outcome a microtask later, as from the thread pool.
  #run<T>(
    op: FsOp,
    file: string,
    body: () => T,
    onFault?: () => void,
    mutating = MUTATING.has(op),
  ): Promise<T> {
    try {
      return Promise.resolve(this.#runNow(op, file, body, onFault, mutating));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #runNow<T>(
    op: FsOp,
    file: string,
    body: () => T,
    onFault: (() => void) | undefined,
    mutating: boolean,
  ): T {
    const index = ++this.#operations;
    let error: Error | undefined;
    try {
      for (const fault of this.#faults) {
        const injected = fault.check(op, file, index);
        if (injected) {
          onFault?.();
          throw injected;
        }
      }
      return body();
    } catch (e) {
      error = e as Error;
      throw e;
    } finally {
      this.#faults = this.#faults.filter((f) => f.armed);
      this.onOperation?.({ index, op, path: file, mutating, error });
    }
  }

  #write(fd: number, buffer: Uint8Array, position: number, syscall: string): number {
    const h = this.#handle(fd, syscall);
    if (!h.writable) throw errnoError('EBADF', syscall, h.path);
    const short = this.#options.shortWrites;
    const n = short && buffer.length > 1 ? randomInt(short, 1, buffer.length) : buffer.length;
    this.#file(h).write(buffer.subarray(0, n), position);
    return n;
  }

  #release(fd: number): void {
    this.#handle(fd, 'close');
    this.#handles.delete(fd);
  }

  #handle(fd: number, syscall: string): Handle {
    const h = this.#handles.get(fd);
    if (!h) throw errnoError('EBADF', syscall);
    return h;
  }

  #pathOf(fd: number): string {
    return this.#handles.get(fd)?.path ?? `fd ${fd}`;
  }

  #fileEntry(file: string): { ino: number } {
    const entry = this.#volume.entry(file, 'open');
    if (entry.kind === 'dir') throw errnoError('EISDIR', 'open', file);
    return entry;
  }

  #file(h: Handle): FileData {
    return this.#volume.file(h.ino);
  }
}
