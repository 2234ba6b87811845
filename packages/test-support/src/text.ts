/** The UTF-8 bytes of `s`. */
export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** `bytes` decoded as UTF-8. */
export const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
