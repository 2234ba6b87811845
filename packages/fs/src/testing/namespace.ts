import path from 'node:path';

/** What a directory entry points at: a file's inode, or a directory. */
export type Entry = { kind: 'file'; ino: number } | { kind: 'dir' };

/** Directory path -> its entries. The root `/` always exists. */
export type Namespace = Map<string, Map<string, Entry>>;

/**
 * A change to directory entries. Each is atomic: after a crash it happened
 * whole or not at all (a journaled file system promises that much, no more).
 * Unlink and rename name the entry they act on: replayed after a crash that
 * lost an earlier operation, they act only on that same file.
 */
export type DirOp =
  | { kind: 'link'; dir: string; name: string; entry: Entry }
  | { kind: 'unlink'; dir: string; name: string; entry: Entry }
  | {
      kind: 'rename';
      fromDir: string;
      fromName: string;
      toDir: string;
      toName: string;
      entry: Entry;
    };

export function emptyNamespace(): Namespace {
  return new Map([['/', new Map()]]);
}

export function cloneNamespace(ns: Namespace): Namespace {
  return new Map([...ns].map(([dir, entries]) => [dir, new Map(entries)]));
}

/** The directories whose fsync makes `op` durable. */
export function dirsOf(op: DirOp): string[] {
  return op.kind === 'rename' ? [op.fromDir, op.toDir] : [op.dir];
}

/**
 * Applies `op` to `ns`. Returns false, changing nothing, when it cannot apply
 * (its directory is missing, or its file is not there): after a crash that
 * dropped an earlier operation, a later one may have nothing to act on.
 */
export function applyDirOp(ns: Namespace, op: DirOp): boolean {
  switch (op.kind) {
    case 'link': {
      const entries = ns.get(op.dir);
      if (!entries) return false;
      entries.set(op.name, op.entry);
      const child = path.posix.join(op.dir, op.name);
      if (op.entry.kind === 'dir' && !ns.has(child)) ns.set(child, new Map());
      return true;
    }
    case 'unlink': {
      const entries = ns.get(op.dir);
      if (!same(entries?.get(op.name), op.entry)) return false;
      return entries?.delete(op.name) ?? false;
    }
    case 'rename': {
      const from = ns.get(op.fromDir);
      const to = ns.get(op.toDir);
      const entry = from?.get(op.fromName);
      if (!from || !to || !entry || !same(entry, op.entry)) return false;
      from.delete(op.fromName);
      to.set(op.toName, entry);
      return true;
    }
  }
}

function same(a: Entry | undefined, b: Entry): boolean {
  return a?.kind === b.kind && (a.kind === 'dir' || a.ino === (b as { ino: number }).ino);
}

/** The entry at `file`, or undefined. The root is a directory. */
export function lookup(ns: Namespace, file: string): Entry | undefined {
  if (file === '/') return { kind: 'dir' };
  return ns.get(path.posix.dirname(file))?.get(path.posix.basename(file));
}

/** Inodes named by some entry of a directory that is itself reachable from `/`. */
export function reachableInodes(ns: Namespace): Set<number> {
  const found = new Set<number>();
  const visit = (dir: string): void => {
    for (const [name, entry] of ns.get(dir) ?? []) {
      if (entry.kind === 'file') found.add(entry.ino);
      else visit(path.posix.join(dir, name));
    }
  };
  visit('/');
  return found;
}

/** Drops directories that no entry reaches any more (their creation did not survive). */
export function pruneUnreachable(ns: Namespace): void {
  const keep = new Set<string>(['/']);
  const visit = (dir: string): void => {
    for (const [name, entry] of ns.get(dir) ?? []) {
      if (entry.kind !== 'dir') continue;
      const child = path.posix.join(dir, name);
      keep.add(child);
      visit(child);
    }
  };
  visit('/');
  for (const dir of ns.keys()) if (!keep.has(dir)) ns.delete(dir);
}

/** A short description of `op` for failure messages. */
export function describeDirOp(op: DirOp): string {
  switch (op.kind) {
    case 'link':
      return `create ${path.posix.join(op.dir, op.name)}${op.entry.kind === 'dir' ? '/' : ''}`;
    case 'unlink':
      return `unlink ${path.posix.join(op.dir, op.name)}`;
    case 'rename':
      return `rename ${path.posix.join(op.fromDir, op.fromName)} -> ${path.posix.join(op.toDir, op.toName)}`;
  }
}
