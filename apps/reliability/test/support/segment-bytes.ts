import {
  type DecodedFrame,
  decodeAll,
  decodeSegmentHeader,
  isBadSegmentHeader,
  SEGMENT_HEADER_SIZE,
  type SegmentHeader,
} from '@wal/codec';

/** The header of a segment file's bytes, or undefined when it has no valid one. */
export function headerOf(bytes: Uint8Array): SegmentHeader | undefined {
  const header = decodeSegmentHeader(bytes.subarray(0, SEGMENT_HEADER_SIZE));
  return isBadSegmentHeader(header) ? undefined : header;
}

/**
 * The frames the codec accepts in a segment file's bytes, read by its own
 * header (none without one): decoded with the codec alone, so that what
 * the harness finds on disk does not depend on the code it checks.
 */
export function framesOf(bytes: Uint8Array): DecodedFrame[] {
  const header = headerOf(bytes);
  if (!header) return [];
  const results = decodeAll(bytes.subarray(SEGMENT_HEADER_SIZE), {
    salt: header.salt,
    firstSequence: header.firstSequence,
    maxRecordBytes: header.maxRecordBytes,
  });
  return results.filter((r): r is DecodedFrame => r.kind === 'frame');
}
