/**
 * `@wal/fs/segments`: the segment layer that the writer and every reader
 * share. Segment naming and listing, headers and seals, the chain check,
 * the frame reader with the tail rule, and durable copy, cut and create.
 * Lower level than `Wal` and `@wal/recovery`; for tools that read or mend
 * segment files themselves.
 */
export { type ChainDamage, checkChain } from './chain.js';
export { createSegment } from './create.js';
export {
  brokenFilePath,
  copyRangeDurably,
  fsyncDirOf,
  truncateDurably,
  writeFileDurably,
} from './durable.js';
export { type FrameEvent, READ_CHUNK_BYTES, type ReadFramesOptions, readFrames } from './frames.js';
export { readListedInfo, readListedInfos, readSegmentInfo, type SegmentInfo } from './info.js';
export { listSegmentFiles, type SegmentFile } from './list.js';
export { CREATING_SUFFIX, parseSegmentFileName, segmentFileName, segmentOfFile } from './names.js';
