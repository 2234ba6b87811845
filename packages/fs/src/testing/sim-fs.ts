import path from 'node:path';
import type { WalFs } from '../wal-fs.js';
import {
  type CrashPlan,
  type CrashPlanOptions,
  type CrashSource,
  countCrashPlans,
  crashImage,
  describeCrashPlan,
  enumerateCrashPlans,
  type FileOutcome,
  randomCrashPlan,
} from './crash.js';
import { errnoError } from './errno.js';
import { Fault, type FaultSpec, type FsOp } from './faults.js';
import { FileData } from './file-data.js';
import {
  applyDirOp,
  cloneNamespace,
  type DirOp,
  dirsOf,
  type Entry,
  emptyNamespace,
  lookup,
  type Namespace,
} from './namespace.js';
import { type Random, randomInt, seededRandom } from './random.js';

export interface SimFsOptions {
  /**
   * Which unsynced directory operations may survive a crash. `'any'`
   * (default): any subset, as POSIX allows. `'in-order'`: a prefix, as a file
   * system that journals metadata in order (ext4) gives.
   */
  dirOrder?: 'any' | 'in-order';
  /** When set, each write and writev writes a random number (at least 1) of its bytes. */
  shortWrites?: Random;
}

/** Reported after every file-system call, failed or not. */
export interface OperationEvent {
  /** 1-based count of calls made on this file system so far. */
  index: number;
  op: FsOp;
  path: string;
  /** True when the call may have changed what a crash leaves. */
  mutating: boolean;
  error?: Error;
}

interface Handle {
  ino: number;
  path: string;
  readable: boolean;
  writable: boolean;
}

const MUTATING: ReadonlySet<FsOp> = new Set<FsOp>([
  'write',
  'writev',
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
  #ns: Namespace = emptyNamespace();
  #durableNs: Namespace = emptyNamespace();
  #pending: { op: DirOp; durable: boolean }[] = [];
  readonly #files = new Map<number, FileData>();
  #nextIno = 1;
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

  open(file: string, flags: 'r' | 'r+' | 'wx'): number {
    return this.#run(
      'open',
      file,
      () => {
        const p = norm(file);
        const parent = this.#dir(path.posix.dirname(p), 'open');
        const entry = parent.get(path.posix.basename(p));
        let ino: number;
        if (flags === 'wx') {
          if (entry) throw errnoError('EEXIST', 'open', file);
          ino = this.#nextIno++;
          this.#files.set(ino, new FileData());
          this.#dirOp({ kind: 'link', ...split(p), entry: { kind: 'file', ino } });
        } else {
          if (!entry) throw errnoError('ENOENT', 'open', file);
          if (entry.kind === 'dir') throw errnoError('EISDIR', 'open', file);
          ino = entry.ino;
        }
        const fd = this.#nextFd++;
        this.#handles.set(fd, { ino, path: p, readable: flags !== 'wx', writable: flags !== 'r' });
        return fd;
      },
      undefined,
      flags === 'wx',
    );
  }

  close(fd: number): void {
    // Linux releases the descriptor even when close reports an error.
    this.#run(
      'close',
      this.#pathOf(fd),
      () => this.#release(fd),
      () => this.#handles.delete(fd),
    );
  }

  read(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number {
    return this.#run('read', this.#pathOf(fd), () => {
      const h = this.#handle(fd, 'read');
      if (!h.readable) throw errnoError('EBADF', 'read', h.path);
      return this.#file(h).read(buffer, offset, length, position);
    });
  }

  write(fd: number, buffer: Uint8Array, position: number): number {
    return this.#run('write', this.#pathOf(fd), () => this.#write(fd, buffer, position, 'write'));
  }

  writev(fd: number, buffers: readonly Uint8Array[], position: number): number {
    return this.#run('writev', this.#pathOf(fd), () =>
      this.#write(fd, Buffer.concat(buffers), position, 'writev'),
    );
  }

  fdatasync(fd: number): void {
    this.#run(
      'fdatasync',
      this.#pathOf(fd),
      () => this.#file(this.#handle(fd, 'fdatasync')).sync(),
      () => this.#files.get(this.#handles.get(fd)?.ino ?? 0)?.failSync(),
    );
  }

  fsyncDir(dir: string): void {
    this.#run('fsyncDir', dir, () => {
      const p = norm(dir);
      this.#dir(p, 'fsync');
      this.#pending.forEach((pending, i) => {
        if (dirsOf(pending.op).includes(p)) this.#markDurable(i);
      });
      this.#fold();
    });
  }

  ftruncate(fd: number, length: number): void {
    this.#run('ftruncate', this.#pathOf(fd), () => {
      const h = this.#handle(fd, 'ftruncate');
      if (!h.writable || !Number.isInteger(length) || length < 0) {
        throw errnoError('EINVAL', 'ftruncate', h.path);
      }
      this.#file(h).truncate(length);
    });
  }

  fsize(fd: number): number {
    return this.#run('fsize', this.#pathOf(fd), () => this.#file(this.#handle(fd, 'fstat')).size);
  }

  stat(file: string): { size: number; isFile: boolean; isDirectory: boolean } {
    return this.#run('stat', file, () => {
      const entry = this.#entry(file, 'stat');
      if (entry.kind === 'dir') return { size: 4096, isFile: false, isDirectory: true };
      return { size: this.#files.get(entry.ino)?.size ?? 0, isFile: true, isDirectory: false };
    });
  }

  rename(from: string, to: string): void {
    this.#run('rename', from, () => {
      const source = this.#entry(from, 'rename');
      if (source.kind === 'dir') throw errnoError('ENOTSUP', 'rename', from);
      const target = norm(to);
      const existing = this.#dir(path.posix.dirname(target), 'rename').get(
        path.posix.basename(target),
      );
      if (existing?.kind === 'dir') throw errnoError('EISDIR', 'rename', to);
      if (target === norm(from)) return;
      const a = split(norm(from));
      const b = split(target);
      // Handles follow the file, so later calls name it by its new path.
      for (const h of this.#handles.values()) if (h.path === norm(from)) h.path = target;
      this.#dirOp({
        kind: 'rename',
        fromDir: a.dir,
        fromName: a.name,
        toDir: b.dir,
        toName: b.name,
        entry: source,
      });
    });
  }

  unlink(file: string): void {
    this.#run('unlink', file, () => {
      const entry = this.#entry(file, 'unlink');
      if (entry.kind === 'dir') throw errnoError('EISDIR', 'unlink', file);
      this.#dirOp({ kind: 'unlink', ...split(norm(file)), entry });
    });
  }

  readdir(dir: string): string[] {
    return this.#run('readdir', dir, () => [...this.#dir(norm(dir), 'scandir').keys()]);
  }

  mkdirp(dir: string): void {
    this.#run('mkdirp', dir, () => {
      let current = '/';
      for (const name of norm(dir).split('/').filter(Boolean)) {
        const next = path.posix.join(current, name);
        const entry = this.#ns.get(current)?.get(name);
        if (entry?.kind === 'file') {
          throw errnoError(next === norm(dir) ? 'EEXIST' : 'ENOTDIR', 'mkdir', dir);
        }
        if (!entry) this.#dirOp({ kind: 'link', dir: current, name, entry: { kind: 'dir' } });
        current = next;
      }
    });
  }

  lock(dir: string): () => void {
    return this.#run('lock', dir, () => {
      const p = norm(dir);
      this.#dir(p, 'lock');
      if (this.#locks.has(p)) {
        throw Object.assign(new Error(`${dir} is locked by this process`), { code: 'ELOCKED' });
      }
      this.#locks.add(p);
      return () => {
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
    fs.#ns = image.ns;
    fs.#durableNs = cloneNamespace(image.ns);
    for (const [ino, bytes] of image.files) fs.#files.set(ino, FileData.durable(bytes));
    fs.#nextIno = this.#nextIno;
    return fs;
  }

  /**
   * A new file system as the next process sees it after this one was
   * killed: the operating system kept every written byte and entry, but the
   * dead process's locks and handles are gone.
   */
  kill(): SimFs {
    const files = new Map<number, FileOutcome>();
    for (const ino of this.#files.keys()) files.set(ino, { kind: 'keep' });
    return this.crash({ files, dirOps: this.#pending.map(() => true) });
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
    for (const file of this.#files.values()) file.sync();
    this.#durableNs = cloneNamespace(this.#ns);
    this.#pending = [];
  }

  /** The inode number of `file`: the key of {@link CrashPlan.files}. */
  inode(file: string): number {
    const entry = lookup(this.#ns, norm(file));
    if (entry?.kind !== 'file') throw errnoError(entry ? 'EISDIR' : 'ENOENT', 'stat', file);
    return entry.ino;
  }

  /** A copy of the bytes at `file` as the process sees them. */
  readFile(file: string): Uint8Array {
    const entry = lookup(this.#ns, norm(file));
    if (entry?.kind !== 'file') throw errnoError(entry ? 'EISDIR' : 'ENOENT', 'open', file);
    return (this.#files.get(entry.ino) as FileData).current.slice();
  }

  /**
   * Creates or replaces `file` with `bytes`, durably, without counting as a
   * call: for setting a scene (foreign files, damaged segments) in a test.
   */
  writeFile(file: string, bytes: Uint8Array): void {
    const p = norm(file);
    const parent = this.#ns.get(path.posix.dirname(p));
    if (!parent) throw errnoError('ENOENT', 'open', file);
    const ino = this.#nextIno++;
    this.#files.set(ino, FileData.durable(bytes));
    this.#dirOp({ kind: 'link', ...split(p), entry: { kind: 'file', ino } });
    (this.#pending.at(-1) as { durable: boolean }).durable = true;
    this.#fold();
  }

  /** Every file and directory as the process sees them, by path (directories map to null). */
  snapshot(): Map<string, Uint8Array | null> {
    const out = new Map<string, Uint8Array | null>();
    for (const [dir, entries] of this.#ns) {
      for (const [name, entry] of entries) {
        const p = path.posix.join(dir, name);
        out.set(
          p,
          entry.kind === 'dir' ? null : (this.#files.get(entry.ino) as FileData).current.slice(),
        );
      }
    }
    return new Map([...out].sort(([a], [b]) => (a < b ? -1 : 1)));
  }

  #crashSource(): CrashSource {
    return {
      durableNs: this.#durableNs,
      pending: this.#pending,
      files: this.#files,
      currentNs: this.#ns,
      dirOrder: this.#options.dirOrder ?? 'any',
    };
  }

  #run<T>(
    op: FsOp,
    file: string,
    body: () => T,
    onFault?: () => void,
    mutating = MUTATING.has(op),
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

  // Moves the durable operations at the front into the durable namespace.
  #fold(): void {
    while (this.#pending[0]?.durable) {
      applyDirOp(this.#durableNs, (this.#pending.shift() as { op: DirOp }).op);
    }
  }

  #dirOp(op: DirOp): void {
    applyDirOp(this.#ns, op);
    this.#pending.push({ op, durable: false });
  }

  // A durable rename needs its source to exist after the crash, so the
  // operation that created the source becomes durable with it.
  #markDurable(index: number): void {
    const pending = this.#pending[index];
    if (!pending || pending.durable) return;
    pending.durable = true;
    const { op } = pending;
    if (op.kind !== 'rename') return;
    for (let i = index - 1; i >= 0; i--) {
      const earlier = (this.#pending[i] as { op: DirOp }).op;
      // The operation that put this very file under the rename's source name.
      const created =
        sameFile(earlier.entry, op.entry) &&
        ((earlier.kind === 'link' && earlier.dir === op.fromDir && earlier.name === op.fromName) ||
          (earlier.kind === 'rename' &&
            earlier.toDir === op.fromDir &&
            earlier.toName === op.fromName));
      if (created) {
        this.#markDurable(i);
        return;
      }
    }
  }

  #handle(fd: number, syscall: string): Handle {
    const h = this.#handles.get(fd);
    if (!h) throw errnoError('EBADF', syscall);
    return h;
  }

  #pathOf(fd: number): string {
    return this.#handles.get(fd)?.path ?? `fd ${fd}`;
  }

  #file(h: Handle): FileData {
    return this.#files.get(h.ino) as FileData;
  }

  // The entries of directory `dir`, or the error a real file system gives.
  #dir(dir: string, syscall: string): Map<string, Entry> {
    const entry = this.#entry(dir, syscall);
    if (entry.kind !== 'dir') throw errnoError('ENOTDIR', syscall, dir);
    return this.#ns.get(norm(dir)) as Map<string, Entry>;
  }

  #entry(file: string, syscall: string): Entry {
    const p = norm(file);
    let current = '/';
    for (const name of p.split('/').filter(Boolean)) {
      const parent = this.#ns.get(current);
      if (!parent) throw errnoError('ENOTDIR', syscall, file);
      const entry = parent.get(name);
      if (!entry) throw errnoError('ENOENT', syscall, file);
      current = path.posix.join(current, name);
      if (entry.kind === 'file' && current !== p) throw errnoError('ENOTDIR', syscall, file);
    }
    return lookup(this.#ns, p) as Entry;
  }
}

function norm(file: string): string {
  return path.posix.resolve('/', file);
}

function split(p: string): { dir: string; name: string } {
  return { dir: path.posix.dirname(p), name: path.posix.basename(p) };
}

function sameFile(a: Entry, b: Entry): boolean {
  return a.kind === 'file' && b.kind === 'file' && a.ino === b.ino;
}
