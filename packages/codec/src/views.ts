import { types } from 'node:util';

/*
 * Bytes as the engine holds them, read without running caller code: a
 * Uint8Array subclass may override `length` (and say another size than the
 * bytes `set` copies), and a Proxy of one runs its traps on every property
 * read. These checks use internal slots and the engine's own accessors.
 */

const TYPED_ARRAY_PROTOTYPE = Object.getPrototypeOf(Uint8Array.prototype) as object;

function accessor<T>(name: string): (view: Uint8Array) => T {
  const get = Object.getOwnPropertyDescriptor(TYPED_ARRAY_PROTOTYPE, name)?.get as (
    this: Uint8Array,
  ) => T;
  return (view) => get.call(view);
}

const bufferOf = accessor<ArrayBufferLike>('buffer');
const byteOffsetOf = accessor<number>('byteOffset');

/** The byte length of a genuine Uint8Array, whatever its own `length` says. */
export const byteLengthOf = accessor<number>('byteLength');

/** True for a Uint8Array or a Buffer itself: its `length` and indexes are the engine's. */
export function isPlainBytes(value: unknown): value is Uint8Array {
  if (!types.isUint8Array(value)) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Uint8Array.prototype || prototype === Buffer.prototype;
}

/** A plain Uint8Array over the bytes a genuine one holds (no copy). */
export function plainView(view: Uint8Array): Uint8Array {
  return new Uint8Array(bufferOf(view), byteOffsetOf(view), byteLengthOf(view));
}
