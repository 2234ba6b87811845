import os from 'node:os';

/** Error codes the simulated file system can raise. */
export type ErrnoCode =
  | 'EACCES'
  | 'EBADF'
  | 'EEXIST'
  | 'EINVAL'
  | 'EIO'
  | 'EISDIR'
  | 'ELOCKED'
  | 'ENOENT'
  | 'ENOSPC'
  | 'ENOTDIR'
  | 'ENOTSUP';

const MESSAGES: Record<ErrnoCode, string> = {
  EACCES: 'permission denied',
  EBADF: 'bad file descriptor',
  EEXIST: 'file already exists',
  EINVAL: 'invalid argument',
  EIO: 'i/o error',
  EISDIR: 'illegal operation on a directory',
  ELOCKED: 'directory is locked',
  ENOENT: 'no such file or directory',
  ENOSPC: 'no space left on device',
  ENOTDIR: 'not a directory',
  ENOTSUP: 'operation not supported',
};

/** An error shaped like the ones `node:fs` throws: `code`, `errno`, `syscall`, `path`. */
export function errnoError(code: ErrnoCode, syscall: string, path?: string): NodeJS.ErrnoException {
  const where = path === undefined ? '' : ` '${path}'`;
  const error: NodeJS.ErrnoException = new Error(`${code}: ${MESSAGES[code]}, ${syscall}${where}`);
  error.code = code;
  error.syscall = syscall;
  const errno = (os.constants.errno as Record<string, number>)[code];
  if (errno !== undefined) error.errno = -errno;
  if (path !== undefined) error.path = path;
  return error;
}
