// @wal/fs cannot depend on @wal/recovery or @wal/memtable (layering goes
// codec <- fs <- recovery <- memtable), so the harness imports their sources.
export { Memtable, replay } from '../../../../memtable/src/index.js';
export { readSegment, recover, repair, scanLog, verify } from '../../../../recovery/src/index.js';
