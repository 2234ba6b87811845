// @wal/fs cannot depend on @wal/recovery (layering goes codec <- fs <-
// recovery <- memtable), so the harness imports the sibling package's source.
export { readSegment, recover, repair, scanLog, verify } from '../../../../recovery/src/index.js';
