/** Runs one call of `method`: `call` makes it on the wrapped object, with these or other arguments. */
export type Around<T> = (
  method: keyof T & string,
  args: unknown[],
  call: (...args: unknown[]) => Promise<unknown>,
) => Promise<unknown>;

/**
 * An object with `base`'s `methods`, every call going through `around`, which
 * may record it, fail it, change it or pass it on. For a WalFs:
 * `wrapMethods(nodeFs, WAL_FS_METHODS, around)`.
 */
export function wrapMethods<T extends object>(
  base: T,
  methods: readonly (keyof T & string)[],
  around: Around<T>,
): T {
  const wrapped: Record<string, unknown> = {};
  for (const method of methods) {
    const real = (base[method] as (...args: unknown[]) => Promise<unknown>).bind(base);
    wrapped[method] = (...args: unknown[]) => around(method, args, real);
  }
  return wrapped as T;
}
