// The real file system with one operation failing, as a disk, a permission
// or a mount can make it fail: whoever runs the test (root included) sees it.
import { nodeFs, WAL_FS_METHODS, type WalFs } from '@wal/fs';
import { wrapMethods } from '@wal/test-support';

type Op = keyof WalFs;

/** `base` (default `nodeFs`), except that `op` rejects with errno `code` on paths that `match` accepts. */
export function failingFs(
  op: Op,
  code: string,
  match: (file: string) => boolean = () => true,
  base: WalFs = nodeFs,
): WalFs {
  const files = new Map<number, string>();
  const fail = (file: string) =>
    Object.assign(new Error(`${code}: injected ${op} failure, ${op} '${file}'`), {
      code,
      syscall: op,
      path: file,
    });
  // The path an operation is on: its first argument, or the file behind a handle.
  const pathOf = (arg: unknown) => (typeof arg === 'number' ? (files.get(arg) ?? '') : String(arg));
  return wrapMethods(base, WAL_FS_METHODS, async (m, args, real) => {
    if (m === op && match(pathOf(args[0]))) throw fail(pathOf(args[0]));
    const result = await real(...args);
    if (m === 'open') files.set(result as number, args[0] as string);
    return result;
  });
}
