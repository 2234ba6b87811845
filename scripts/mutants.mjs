// The durability mutants of `pnpm test:mutants`: one per step that keeps
// acknowledged data safe. `find` must occur exactly once in `file`.
// docs/reliability.md lists them with the tests that kill them.

const SUITES = [
  'packages/codec/test',
  'packages/fs/test',
  'packages/recovery/test',
  'packages/memtable/test/replay.test.ts',
  'apps/reliability/test',
];

const FS_TEST = (name) => `packages/fs/test/${name}.test.ts`;
const RECOVERY_TEST = (name) => `packages/recovery/test/${name}.test.ts`;
const RELIABILITY_TEST = (name) => `apps/reliability/test/${name}.test.ts`;

// The test files written to catch each mutant: run first, so a kill names
// the step's own test (docs/reliability.md lists them). A mutant that
// survives them still runs against every suite.
const KILLERS = {
  'lock-kernel': [FS_TEST('lock-guarantees')],
  'lock-recheck': [FS_TEST('lock-churn')],
  'lock-release-own': [FS_TEST('lock-guarantees')],
  'lock-release-order': [FS_TEST('lock-churn')],
  'open-scan-fdatasync': [FS_TEST('torn-tail')],
  'open-rewrite-unsynced': [FS_TEST('salvage')],
  'open-directory-fsync': [FS_TEST('directory-durability')],
  'open-parent-fsync': [FS_TEST('directory-durability')],
  'mkdir-parent-fsync': [FS_TEST('directory-durability')],
  'open-chain-check': [FS_TEST('corruption')],
  'open-refuses-rot': [FS_TEST('corruption')],
  'tail-rule-synced': [FS_TEST('torn-tail')],
  'broken-copy': [FS_TEST('torn-tail')],
  'copy-fdatasync': [FS_TEST('torn-tail')],
  'copy-directory-fsync': [FS_TEST('torn-tail')],
  'cut-fdatasync': [FS_TEST('torn-tail')],
  'create-header-fdatasync': [FS_TEST('torn-tail')],
  'create-directory-fsync': [FS_TEST('directory-durability')],
  'seal-sync': [FS_TEST('torn-tail')],
  'seal-cuts-zeros': [FS_TEST('rotation')],
  'seal-cut-sync': [FS_TEST('interrupted-rotation'), FS_TEST('rotation')],
  'preallocate-capacity': [FS_TEST('faults')],
  'preallocate-synced-watermark': [FS_TEST('torn-tail')],
  'open-durable-before-free-space': [FS_TEST('torn-tail')],
  'free-space-last-only': [RECOVERY_TEST('damage')],
  'free-space-to-the-end': [FS_TEST('torn-tail')],
  'retention-directory-fsync': [RELIABILITY_TEST('regressions')],
  'append-fdatasync': [RELIABILITY_TEST('guarantees')],
  'poison-on-failed-sync': [FS_TEST('faults')],
  'salvage-rewrite': [FS_TEST('salvage')],
  'salvage-cut': [FS_TEST('salvage')],
  'failed-write-cut': [FS_TEST('faults')],
  'close-mark': [FS_TEST('corruption')],
  'group-yield': [FS_TEST('group-commit')],
  'group-mark': [FS_TEST('corruption')],
  'frame-salt': ['packages/codec/test/salt.test.ts'],
  'exact-sequence': ['packages/codec/test/sequence.test.ts'],
  'resync-floor': ['packages/codec/test/salt.test.ts'],
  'repair-copy': [RECOVERY_TEST('repair')],
  'repair-quarantine-fsync': [RECOVERY_TEST('repair')],
  'repair-rebuild-fdatasync': [RECOVERY_TEST('repair')],
  'repair-rebuild-directory-fsync': [RECOVERY_TEST('repair')],
  'repair-remove-directory-fsync': [RECOVERY_TEST('repair')],
  'repair-floor': [RECOVERY_TEST('repair')],
  'replay-rewound': ['packages/memtable/test/replay.test.ts'],
  'tail-witness-vouches': [RECOVERY_TEST('verify')],
  'failed-write-keeps-controls': [FS_TEST('faults')],
  'retention-after-feed': [FS_TEST('rotation'), FS_TEST('sealed-segments')],
  'open-cut-rewrites-unsynced': [FS_TEST('salvage')],
  'bytes-plain-view': [FS_TEST('basics'), 'packages/codec/test/bytes.test.ts'],
  'repair-stated-salt-one-frame': [RECOVERY_TEST('repair')],
  'repair-salvage-floor': [RECOVERY_TEST('repair')],
  'verify-salvage-floor': [RECOVERY_TEST('repair')],
  'replay-concurrent-change': ['packages/memtable/test/replay.test.ts'],
  'failed-write-cut-sync': [FS_TEST('faults')],
  'listed-segment-still-listed': [RECOVERY_TEST('regressions')],
  'archive-path-fsync': [RECOVERY_TEST('archive')],
  'restore-parents-fsync': [RECOVERY_TEST('restore')],
  'replay-missing-log-checkpoint': ['packages/memtable/test/replay.test.ts'],
  'replay-checkpoint-log-id': ['packages/memtable/test/replay.test.ts'],
  'repair-keeps-log-id': ['packages/memtable/test/replay.test.ts'],
  'close-shared': [FS_TEST('lifecycle')],
  'close-failed-unsynced': [FS_TEST('faults')],
  'failed-write-cut-durable': [FS_TEST('faults')],
  'blocked-rotation-syncs': [FS_TEST('segment-hold')],
};

const mutant = (name, file, step, find, replace, tests = SUITES) => ({
  name,
  file,
  step,
  find,
  replace,
  tests,
  killers: KILLERS[name] ?? [],
});

const OPEN = 'packages/fs/src/open-log.ts';
const LOG = 'packages/fs/src/segment-log.ts';
const WAL = 'packages/fs/src/wal.ts';
const DURABLE = 'packages/fs/src/segments/durable.ts';
const CREATE = 'packages/fs/src/segments/create.ts';
const FRAMES = 'packages/fs/src/segments/frames.ts';
const FREE_SPACE = 'packages/fs/src/segments/free-space.ts';
const PREPARE = 'packages/fs/src/prepare-directory.ts';
const DECODER = 'packages/codec/src/stream-decoder.ts';
const RECORD = 'packages/codec/src/record.ts';
const REPAIR = 'packages/recovery/src/repair.ts';
const PLAN = 'packages/recovery/src/repair-plan.ts';
const REPLAY = 'packages/memtable/src/replay.ts';
const VERIFY = 'packages/recovery/src/verify.ts';
const BYTES = 'packages/codec/src/bytes.ts';
const LOCK = 'packages/fs/src/lock.ts';
const INFO = 'packages/fs/src/segments/info.ts';
const ARCHIVE_DIR = 'packages/recovery/src/archive-directory.ts';
const RESTORE = 'packages/recovery/src/restore.ts';
const LOCK_TESTS = [
  'packages/fs/test/lock-guarantees.test.ts',
  'packages/fs/test/lock-churn.test.ts',
];

export const MUTANTS = [
  // The lock: a kernel lock on the file LOCK still names, released only by its holder.
  mutant(
    'lock-kernel',
    LOCK,
    'taking the kernel lock at all',
    'if (!tryLock(fd)) throw locked(dir, await readHolder(file));',
    '',
    LOCK_TESTS,
  ),
  mutant(
    'lock-recheck',
    LOCK,
    'checking that LOCK still names the file locked',
    'if (sameFile(ours, named)) {',
    'if (true) {',
    LOCK_TESTS,
  ),
  mutant(
    'lock-release-own',
    LOCK,
    'release removing LOCK only while it is its own',
    'if (sameFile(ours, await identify(file))) await unlink(file);',
    'await unlink(file).catch(() => {});',
    LOCK_TESTS,
  ),
  mutant(
    'lock-release-order',
    LOCK,
    'removing LOCK before letting the lock go',
    '      if (sameFile(ours, await identify(file))) await unlink(file);\n    } finally {\n      await close(fd);\n    }',
    '      await close(fd);\n    } finally {\n      if (sameFile(ours, await identify(file))) await unlink(file);\n    }',
    LOCK_TESTS,
  ),
  // Open: what it scanned, the directory, the chain, the tail rule.
  mutant(
    'open-scan-fdatasync',
    OPEN,
    'fdatasync of the scanned tail in open',
    "await io('fdatasync', file, () => fs.fdatasync(fd));",
    '',
  ),
  mutant(
    'open-rewrite-unsynced',
    OPEN,
    'rewriting what no frame proves durable before open syncs it (fsyncgate pages)',
    'await writeFully(fs, fd, bytes, p, file);',
    '',
  ),
  mutant(
    'open-directory-fsync',
    OPEN,
    'fsync of the directory (and its parent) on every open',
    'await syncDirectoryState(fs, dir);',
    '',
  ),
  mutant(
    'open-parent-fsync',
    PREPARE,
    "fsync of the log directory's parent on every open",
    'await fs.fsyncDir(parent);',
    '',
  ),
  mutant(
    'mkdir-parent-fsync',
    PREPARE,
    'fsync of the parent of each directory created',
    "await io('fsync directory', parent, () => fs.fsyncDir(parent));",
    '',
  ),
  mutant(
    'open-chain-check',
    OPEN,
    'the header, seal and sequence chain check in open',
    'if (broken) throw corruption(dir, broken.damage);',
    '',
  ),
  mutant(
    'open-refuses-rot',
    OPEN,
    'refusing damage that is not a torn tail',
    'if (!event.torn) throw corruption(dir, event.damage);',
    '',
  ),
  mutant(
    'tail-rule-synced',
    FRAMES,
    'the tail rule: a later frame synced past the damage makes it rot',
    "if (result.kind === 'frame' && result.record.synced > damage.offset) {",
    'if (false) {',
  ),
  mutant(
    'broken-copy',
    OPEN,
    'the .broken copy before a tail is cut',
    'await copyRangeDurably(\n    fs,\n    fd,\n    damage.file,\n    [\n      [0, SEGMENT_HEADER_SIZE],\n      [damage.offset, size],\n    ],\n    keptIn,\n  );',
    '',
  ),
  mutant(
    'copy-fdatasync',
    DURABLE,
    'fdatasync of a durable copy (.broken, incident)',
    "await io('fdatasync', target, () => fs.fdatasync(out));",
    '',
  ),
  mutant(
    'copy-directory-fsync',
    DURABLE,
    'directory fsync after a durable copy',
    '    await closeQuietly(fs, out);\n  }\n  await fsyncDirOf(fs, target);',
    '    await closeQuietly(fs, out);\n  }',
  ),
  mutant(
    'cut-fdatasync',
    DURABLE,
    'fdatasync after cutting a torn tail',
    "await io('fdatasync', file, () => fs.fdatasync(fd));",
    '',
  ),
  // Segments: creation, seal, retention.
  mutant(
    'create-header-fdatasync',
    CREATE,
    "fdatasync of a new segment's header before its rename",
    "await io('fdatasync', temp, () => fs.fdatasync(fd));",
    '',
  ),
  mutant(
    'create-directory-fsync',
    CREATE,
    "directory fsync after a new segment's rename",
    "await io('fsync directory', dir, () => fs.fsyncDir(dir));",
    '',
  ),
  mutant(
    'seal-sync',
    LOG,
    'fdatasync of the seal before the next segment is created',
    '      await this.#append(seal, 0);\n      this.acknowledge();\n      await this.sync();',
    '      await this.#append(seal, 0);\n      this.acknowledge();',
  ),
  // Preallocation: zeros after the frames are free space only in the last segment.
  mutant(
    'seal-cuts-zeros',
    LOG,
    'cutting the preallocated zeros when sealing',
    "await io('truncate', active.file, () => this.#fs.ftruncate(active.fd, active.size));",
    '',
  ),
  mutant(
    'seal-cut-sync',
    LOG,
    'fdatasync before the seal is written (the cut zeros, unsynced frames): the seal vouches for all before it',
    '      if (this.#dirty) await this.sync();\n      const seal',
    '      const seal',
  ),
  mutant(
    'preallocate-capacity',
    LOG,
    'capacity covering what a failed preallocation may have written (the seal cuts it)',
    '    } finally {\n      this.#active.capacity = to;\n    }',
    '    } catch (error) {\n      throw error;\n    }\n    this.#active.capacity = to;',
  ),
  mutant(
    'preallocate-synced-watermark',
    LOG,
    "the synced watermark is the frames' end, never the zeros'",
    '    this.#syncedSize = size;',
    '    this.#syncedSize = this.#active.capacity;',
  ),
  mutant(
    'open-durable-before-free-space',
    OPEN,
    'open making the scanned frames durable when free space follows them',
    'if (!cut) await makeDurable(fs, fd, info.file, synced, event.dataEnd);',
    'if (!cut && event.dataEnd === event.size) await makeDurable(fs, fd, info.file, synced, event.dataEnd);',
  ),
  mutant(
    'free-space-last-only',
    FREE_SPACE,
    'free space only in the last segment',
    'return last && zerosToEnd(region, size);',
    'return zerosToEnd(region, size);',
  ),
  mutant(
    'free-space-to-the-end',
    FREE_SPACE,
    'free space only when the zeros reach the end of the file',
    "return region.reason === 'zero-fill' && region.offset + region.bytes >= size;",
    "return region.reason === 'zero-fill';",
  ),
  mutant(
    'retention-directory-fsync',
    LOG,
    'directory fsync after each retention unlink',
    "await io('fsync directory', this.#dir, () => this.#fs.fsyncDir(this.#dir));",
    '',
  ),
  // Appends: sync, fsyncgate, failed writes, marks.
  mutant('append-fdatasync', LOG, 'fdatasync of a group', 'await this.#fs.fdatasync(fd);', ''),
  mutant(
    'poison-on-failed-sync',
    LOG,
    'poisoning the writer when fdatasync fails',
    'throw this.#options.poison(\n        salvage === undefined',
    'throw ((error) => error)(\n        salvage === undefined',
  ),
  mutant(
    'salvage-rewrite',
    LOG,
    'the fsyncgate salvage: rewriting acknowledged unsynced bytes',
    'await writeFully(this.#fs, fd, bytes, start, file);',
    '',
  ),
  mutant(
    'salvage-cut',
    LOG,
    'the fsyncgate salvage: cutting the unacknowledged group',
    "await io('truncate', file, () => this.#fs.ftruncate(fd, end));",
    '',
  ),
  mutant(
    'failed-write-cut',
    LOG,
    'cutting a failed write back off',
    'await this.#fs.ftruncate(fd, size);',
    '',
  ),
  mutant(
    'close-mark',
    WAL,
    'the mark at close that proves every frame durable',
    '          await this.#log.mark(this.#nextSequence);',
    '          await this.#log.sync();',
  ),
  mutant(
    'group-yield',
    WAL,
    "a turn of the event loop between groups that did not sync (sync 'none' and 'interval')",
    "if (job.kind === 'group' && this.#options.sync !== 'always' && this.#jobs.length > 0) {",
    'if (false) {',
  ),
  mutant(
    'group-mark',
    WAL,
    'the mark in front of a group encoded before the last sync',
    'if (log.syncedSize > group.synced) {',
    'if (false) {',
  ),
  // Format: frames cannot be forged, and resync accepts only what continues.
  mutant(
    'frame-salt',
    RECORD,
    'the salt in every frame CRC',
    '    lastSeed = crc32(saltBytes);',
    '    lastSeed = 0;',
  ),
  mutant(
    'exact-sequence',
    DECODER,
    'a frame must continue the segment exactly',
    'if (exact && floor === null) return first === this.#expected;',
    'if (exact && floor === null) return true;',
  ),
  mutant(
    'resync-floor',
    DECODER,
    "resync's floor: nothing below the interrupted sequence",
    'return first >= (floor ?? this.#expected) && nextOf(record) <= this.#ceiling;',
    'return nextOf(record) <= this.#ceiling;',
  ),
  // Repair: copies first, durably; rebuilt files durable; never rewinds.
  mutant(
    'repair-copy',
    REPAIR,
    'the incident copy of a file before repair changes it',
    'await copyRangeDurably(fs, fd, a.file, [[0, size]], a.keptIn);',
    '',
  ),
  mutant(
    'repair-quarantine-fsync',
    REPAIR,
    'fsync of the log directory after creating quarantine/',
    'await fsyncDirOf(fs, quarantine);',
    '',
  ),
  mutant(
    'repair-rebuild-fdatasync',
    REPAIR,
    'fdatasync of a rebuilt segment before its rename',
    "await io('fdatasync', temp, () => fs.fdatasync(fd));",
    '',
  ),
  mutant(
    'repair-rebuild-directory-fsync',
    REPAIR,
    "directory fsync after a rebuilt segment's rename",
    'await fsyncDirOf(fs, write.file);',
    '',
  ),
  mutant(
    'repair-remove-directory-fsync',
    REPAIR,
    'directory fsync after setting a file aside',
    'await fsyncDirOf(fs, a.file);',
    '',
  ),
  mutant(
    'repair-floor',
    PLAN,
    'the sequence floor: the next sequence is above all the log ever held',
    'if (expected < highest) {',
    'if (false) {',
  ),
  mutant(
    'replay-rewound',
    REPLAY,
    'replay refusing a log that ends at or below the checkpoint',
    'if (checkpoint !== null && !stats.missing && stats.nextSequence <= checkpoint) {',
    'if (false) {',
  ),
  mutant(
    'replay-concurrent-change',
    REPLAY,
    'replay refusing a table changed while it read the log',
    'if (table[changes] !== unchanged) {',
    'if (false) {',
  ),
  // Found by the session-7 review: the witness, the failed write, retention, the cut, bytes, salvage.
  mutant(
    'tail-witness-vouches',
    FRAMES,
    'a witness found past earlier damage vouching for later damage only when past it and synced past it',
    'return witness.offset > damage.offset && witness.synced > damage.offset;',
    'return true;',
  ),
  mutant(
    'failed-write-keeps-controls',
    WAL,
    'a failed write that does not fail the writer rejecting only the appends behind it (the syncs and close still run)',
    "else if (job.kind !== 'control') this.#dropAppendsQueued(reported);",
    'else this.#rejectQueued(reported);',
  ),
  mutant(
    'retention-after-feed',
    WAL,
    'a rotation whose retention fails still settling: its sealed segment fed and made durable first',
    '      return;\n    }\n    job.settle?.resolve();',
    '      throw error;\n    }\n    job.settle?.resolve();',
  ),
  mutant(
    'open-cut-rewrites-unsynced',
    OPEN,
    'open rewriting the unsynced bytes before a torn tail it cuts (fsyncgate pages)',
    '      await makeDurable(fs, fd, info.file, synced, event.damage.offset);\n',
    '',
  ),
  mutant(
    'bytes-plain-view',
    BYTES,
    'a Uint8Array subclass read through a plain view (its length cannot disagree with its bytes)',
    'if (types.isUint8Array(value)) return plainView(value);',
    'if (types.isUint8Array(value)) return value;',
  ),
  mutant(
    'repair-stated-salt-one-frame',
    PLAN,
    "a damaged header's stated salt taken on one frame",
    'if (salt !== statedSalt && found.frames < 2 && !found.whole) continue;',
    'if (found.frames < 2 && !found.whole) continue;',
  ),
  mutant(
    'repair-salvage-floor',
    PLAN,
    'the sequences of frames under every salt tried counting for the floor',
    '    s.highest = Math.max(s.highest, found.highest);\n',
    '',
  ),
  mutant(
    'verify-salvage-floor',
    VERIFY,
    "verify's next sequence above what repair would salvage past a damaged header",
    '    report.nextSequence = Math.max(report.nextSequence, plan?.nextSequence ?? 0);\n',
    '',
  ),
  mutant(
    'failed-write-cut-sync',
    LOG,
    "fdatasync of a failed write's cut before its sequences are reused",
    '          this.#active.capacity = size;\n          await this.sync();\n',
    '          this.#active.capacity = size;\n',
  ),
  mutant(
    'listed-segment-still-listed',
    INFO,
    'a listed segment that cannot be opened left out only once its name is gone (retention), not a shorter log',
    '    if (!(await readNames(fs, dir)).includes(path.basename(listed.file))) return null;\n',
    '    return null;\n',
  ),
  mutant(
    'archive-path-fsync',
    ARCHIVE_DIR,
    "the fsync of every directory on an archive directory's path before its first file",
    '  await syncDirectoryState(fs, root);\n',
    '  await fs.fsyncDir(path.dirname(root));\n',
  ),
  mutant(
    'restore-parents-fsync',
    RESTORE,
    'the fsync of the staging directory and every directory above it, before a restore writes into it',
    '  await syncDirectoryState(fs, staging);\n',
    '  await fsyncDirOf(fs, staging);\n',
  ),
  mutant(
    'replay-missing-log-checkpoint',
    REPLAY,
    'replay refusing a missing log under a checkpoint (a writer would start it again at 0)',
    '  if (checkpoint !== null && stats.missing) {',
    '  if (false) {',
  ),
  mutant(
    'replay-checkpoint-log-id',
    REPLAY,
    "replay refusing another log than the one the checkpoint names (a writer's new log past the checkpoint)",
    '  if (checkpoint !== null && logId !== null && stats.logId !== null && stats.logId !== logId) {',
    '  if (false) {',
  ),
  mutant(
    'repair-keeps-log-id',
    PLAN,
    'repair taking the log id the damaged headers state when no header is valid (a checkpoint names it)',
    '    commonLogId(await statedLogIds(fs, infos)) ??\n',
    '',
  ),
  // Found by the session-8 review of the writer: close, a failed writer, a cut, a blocked rotation.
  mutant(
    'close-shared',
    WAL,
    "a second close() sharing the first's promise (settling after its final sync and the lock's release)",
    '    this.#closed ??= this.#close();\n    return this.#closed;\n',
    '    if (this.#closed) return Promise.resolve();\n    this.#closed = this.#close();\n    return this.#closed;\n',
  ),
  mutant(
    'close-failed-unsynced',
    WAL,
    'close of a failed writer rejecting while records it accepted are not durable',
    '      if (this.#failure && this.#durableSequence < this.#nextSequence) {',
    '      if (false) {',
  ),
  mutant(
    'failed-write-cut-durable',
    WAL,
    "durableSequence advanced past what the sync of a failed write's cut covered",
    "      this.#durableIfSynced(); // the failed write's cut was synced\n",
    '',
  ),
  mutant(
    'blocked-rotation-syncs',
    WAL,
    'fdatasync of what was written before a rotation waits for a hold (durability never waits for a reader)',
    '      if (this.#log.dirty) {\n        await this.#syncNow();\n        continue;\n      }\n',
    '',
  ),
];
