import path from 'node:path';
import type { CrashSource } from './crash.js';
import { errnoError } from './errno.js';
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

/** An absolute, normalised POSIX path. */
export function norm(file: string): string {
  return path.posix.resolve('/', file);
}

export function split(p: string): { dir: string; name: string } {
  return { dir: path.posix.dirname(p), name: path.posix.basename(p) };
}

/**
 * The storage under a simulated file system: every file's bytes (volatile
 * and durable), the directory tree as the process sees it, the tree as it
 * is on stable storage, and the directory operations in between.
 */
export class Volume {
  #ns: Namespace = emptyNamespace();
  #durableNs: Namespace = emptyNamespace();
  // Directory operations not yet folded into #durableNs, in order. Some may
  // be durable already (fsynced) behind one that is not.
  #pending: { op: DirOp; durable: boolean }[] = [];
  readonly #files = new Map<number, FileData>();
  #nextIno = 1;

  /** A volume whose every entry and byte is durable: a state after a crash. */
  static fromImage(
    image: { ns: Namespace; files: Map<number, Uint8Array> },
    nextIno: number,
  ): Volume {
    const volume = new Volume();
    volume.#ns = image.ns;
    volume.#durableNs = cloneNamespace(image.ns);
    for (const [ino, bytes] of image.files) volume.#files.set(ino, FileData.durable(bytes));
    volume.#nextIno = nextIno;
    return volume;
  }

  /** Every file's pages that a failed writeback marked clean are evicted (see FileData.evictLost). */
  evictLost(): void {
    for (const file of this.#files.values()) file.evictLost();
  }

  /** An independent copy, page cache and pending directory operations included. */
  clone(): Volume {
    const copy = new Volume();
    copy.#ns = cloneNamespace(this.#ns);
    copy.#durableNs = cloneNamespace(this.#durableNs);
    copy.#pending = this.#pending.map((p) => ({ ...p }));
    for (const [ino, file] of this.#files) copy.#files.set(ino, file.clone());
    copy.#nextIno = this.#nextIno;
    return copy;
  }

  get nextIno(): number {
    return this.#nextIno;
  }

  /** Inodes of every file ever created here. */
  get inodes(): number[] {
    return [...this.#files.keys()];
  }

  /** Directory operations not yet durable. */
  get unsyncedDirOps(): number {
    return this.#pending.filter((p) => !p.durable).length;
  }

  file(ino: number): FileData {
    return this.#files.get(ino) as FileData;
  }

  /** The entry at `file`, or the error a real file system gives (ENOENT, ENOTDIR). */
  entry(file: string, syscall: string): Entry {
    const p = norm(file);
    let current = '/';
    for (const name of p.split('/').filter(Boolean)) {
      const entry = this.#ns.get(current)?.get(name);
      if (!entry) throw errnoError('ENOENT', syscall, file);
      current = path.posix.join(current, name);
      if (entry.kind === 'file' && current !== p) throw errnoError('ENOTDIR', syscall, file);
    }
    return lookup(this.#ns, p) as Entry;
  }

  /** The entries of directory `dir`, or the error a real file system gives. */
  dir(dir: string, syscall: string): Map<string, Entry> {
    if (this.entry(dir, syscall).kind !== 'dir') throw errnoError('ENOTDIR', syscall, dir);
    return this.#ns.get(norm(dir)) as Map<string, Entry>;
  }

  /** Creates an empty file (its entry not yet durable); returns its inode. */
  create(p: string, data = new FileData()): number {
    const ino = this.#nextIno++;
    this.#files.set(ino, data);
    this.change({ kind: 'link', ...split(p), entry: { kind: 'file', ino } });
    return ino;
  }

  /** Applies a directory operation; it is durable only once a directory it touches is fsynced. */
  change(op: DirOp): void {
    applyDirOp(this.#ns, op);
    this.#pending.push({ op, durable: false });
  }

  fsyncDir(dir: string): void {
    const p = norm(dir);
    this.#pending.forEach((pending, i) => {
      if (dirsOf(pending.op).includes(p)) this.#markDurable(i);
    });
    this.#fold();
  }

  /** Makes the last operation durable at once (a scene set up by a test). */
  settleLast(): void {
    (this.#pending.at(-1) as { durable: boolean }).durable = true;
    this.#fold();
  }

  syncAll(): void {
    for (const file of this.#files.values()) file.sync();
    this.#durableNs = cloneNamespace(this.#ns);
    this.#pending = [];
  }

  crashSource(dirOrder: 'any' | 'in-order'): CrashSource {
    return {
      durableNs: this.#durableNs,
      pending: this.#pending,
      files: this.#files,
      currentNs: this.#ns,
      dirOrder,
    };
  }

  /** Every file and directory as the process sees them (directories map to null). */
  snapshot(): Map<string, Uint8Array | null> {
    const out: [string, Uint8Array | null][] = [];
    for (const [dir, entries] of this.#ns) {
      for (const [name, entry] of entries) {
        const bytes = entry.kind === 'dir' ? null : this.file(entry.ino).current.slice();
        out.push([path.posix.join(dir, name), bytes]);
      }
    }
    return new Map(out.sort(([a], [b]) => (a < b ? -1 : 1)));
  }

  // Moves the durable operations at the front into the durable namespace.
  #fold(): void {
    while (this.#pending[0]?.durable) {
      applyDirOp(this.#durableNs, (this.#pending.shift() as { op: DirOp }).op);
    }
  }

  // A durable rename needs its source to exist after the crash, so the
  // operation that put that very file under the source name becomes durable too.
  #markDurable(index: number): void {
    const pending = this.#pending[index];
    if (!pending || pending.durable) return;
    pending.durable = true;
    const { op } = pending;
    if (op.kind !== 'rename') return;
    for (let i = index - 1; i >= 0; i--) {
      const earlier = (this.#pending[i] as { op: DirOp }).op;
      const placed =
        earlier.kind === 'link'
          ? earlier.dir === op.fromDir && earlier.name === op.fromName
          : earlier.kind === 'rename' &&
            earlier.toDir === op.fromDir &&
            earlier.toName === op.fromName;
      if (placed && sameFile(earlier.entry, op.entry)) {
        this.#markDurable(i);
        return;
      }
    }
  }
}

function sameFile(a: Entry, b: Entry): boolean {
  return a.kind === 'file' && b.kind === 'file' && a.ino === b.ino;
}
