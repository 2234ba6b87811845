import { ErrorCode, WalError } from '@wal/codec';
import { type BatchOp, MIN_SEGMENT_BYTES, Wal, type WalOptions } from '@wal/fs';
import { SimFs } from '@wal/fs/testing';
import { Memtable, replay } from '@wal/memtable';
import { readSegment, recover, repair, scanLog, verify } from '@wal/recovery';
import { beforeAll, describe, expect, test } from 'vitest';
import { freshFs, LOG_DIR, walOptions } from './support/check.js';

// One table over every public entry point: each bad input gets its
// documented code, and nothing on disk changes.

interface Scene {
  fs: SimFs;
  /** An open writer on LOG_DIR holding two entries. */
  wal: Wal;
  /** A closed writer. */
  closed: Wal;
}

const FILE = '/a-file';
const FOREIGN = '/foreign';
const MISSING = '/missing';
const BIG = new Uint8Array(1025);

let scene: Scene;
beforeAll(async () => {
  const fs = await freshFs(new SimFs());
  fs.writeFile(FILE, Buffer.from('not a directory'));
  await fs.mkdirp(FOREIGN);
  // Files named like segments that are not @wal segments.
  fs.writeFile(
    `${FOREIGN}/wal_00000000.log`,
    Buffer.from('# my notes, not a write-ahead log\n'.repeat(3)),
  );
  fs.writeFile(`${FOREIGN}/wal_00000001.log`, new Uint8Array(4096).fill(0x41));
  fs.writeFile(`${FOREIGN}/notes.txt`, Buffer.from('hello'));
  fs.syncAll();
  const wal = await Wal.open(walOptions(fs, { maxRecordBytes: 1024 }));
  await wal.put('k', 'v');
  await wal.delete('k');
  await fs.mkdirp('/other');
  const closed = await Wal.open({ ...walOptions(fs), dir: '/other' });
  await closed.close();
  scene = { fs, wal, closed };
});

const open = (options: Record<string, unknown>) => (s: Scene) =>
  Wal.open({ ...walOptions(s.fs), dir: '/new', ...options } as WalOptions);
const drain = async (scan: AsyncIterable<unknown>): Promise<void> => {
  for await (const _ of scan);
};

const cases: [string, ErrorCode, (s: Scene) => Promise<unknown>][] = [
  // Wal.open: options are checked before any I/O.
  ['Wal.open(42)', ErrorCode.INVALID_OPTIONS, () => Wal.open(42 as never)],
  ['Wal.open(null)', ErrorCode.INVALID_OPTIONS, () => Wal.open(null as never)],
  ['Wal.open({ dir: 5 })', ErrorCode.INVALID_OPTIONS, open({ dir: 5 })],
  ["Wal.open({ dir: '' })", ErrorCode.INVALID_OPTIONS, open({ dir: '' })],
  ["sync: 'sometimes'", ErrorCode.INVALID_OPTIONS, open({ sync: 'sometimes' })],
  ["syncIntervalMs: '100'", ErrorCode.INVALID_OPTIONS, open({ syncIntervalMs: '100' })],
  ['syncIntervalMs: NaN', ErrorCode.INVALID_OPTIONS, open({ syncIntervalMs: Number.NaN })],
  ['syncIntervalMs: -1', ErrorCode.INVALID_OPTIONS, open({ syncIntervalMs: -1 })],
  ['syncIntervalMs: 0.5', ErrorCode.INVALID_OPTIONS, open({ syncIntervalMs: 0.5 })],
  ['maxSegmentBytes: NaN', ErrorCode.INVALID_OPTIONS, open({ maxSegmentBytes: Number.NaN })],
  ['maxSegmentBytes: -1', ErrorCode.INVALID_OPTIONS, open({ maxSegmentBytes: -1 })],
  ['maxSegmentBytes: 1000.5', ErrorCode.INVALID_OPTIONS, open({ maxSegmentBytes: 1000.5 })],
  [
    'maxSegmentBytes: Infinity',
    ErrorCode.INVALID_OPTIONS,
    open({ maxSegmentBytes: Number.POSITIVE_INFINITY }),
  ],
  [
    'maxSegmentBytes smaller than a header, a batch and a seal',
    ErrorCode.INVALID_OPTIONS,
    open({ maxSegmentBytes: MIN_SEGMENT_BYTES - 1 }),
  ],
  ['maxRecordBytes: NaN', ErrorCode.INVALID_OPTIONS, open({ maxRecordBytes: Number.NaN })],
  ['maxRecordBytes: 0', ErrorCode.INVALID_OPTIONS, open({ maxRecordBytes: 0 })],
  ['maxSegments: 0', ErrorCode.INVALID_OPTIONS, open({ maxSegments: 0 })],
  ['maxSegments: 2.5', ErrorCode.INVALID_OPTIONS, open({ maxSegments: 2.5 })],
  ['an unknown option key', ErrorCode.INVALID_OPTIONS, open({ syncOnWrite: true })],
  ['fs without its methods', ErrorCode.INVALID_OPTIONS, open({ fs: {} })],
  ['a dir that is a file', ErrorCode.INVALID_ARGUMENT, open({ dir: FILE })],
  ['a dir of foreign files named like segments', ErrorCode.CORRUPTION, open({ dir: FOREIGN })],
  ['a second writer on an open log', ErrorCode.LOCKED, open({ dir: LOG_DIR })],
  // Appends: arguments are checked before anything is written.
  ['put(42, v)', ErrorCode.INVALID_ARGUMENT, (s) => s.wal.put(42 as never, 'v')],
  ['put(k, null)', ErrorCode.INVALID_ARGUMENT, (s) => s.wal.put('k', null as never)],
  ['put(k, {})', ErrorCode.INVALID_ARGUMENT, (s) => s.wal.put('k', {} as never)],
  [
    'put(k) without a value',
    ErrorCode.INVALID_ARGUMENT,
    (s) => (s.wal.put as (k: string) => Promise<number>)('k'),
  ],
  ['put with a key over the limit', ErrorCode.RECORD_TOO_LARGE, (s) => s.wal.put(BIG, 'v')],
  ['put with a value over the limit', ErrorCode.RECORD_TOO_LARGE, (s) => s.wal.put('k', BIG)],
  ['delete(undefined)', ErrorCode.INVALID_ARGUMENT, (s) => s.wal.delete(undefined as never)],
  ['delete(NaN)', ErrorCode.INVALID_ARGUMENT, (s) => s.wal.delete(Number.NaN as never)],
  ['batch([])', ErrorCode.INVALID_ARGUMENT, (s) => s.wal.batch([])],
  ["batch('ops')", ErrorCode.INVALID_ARGUMENT, (s) => s.wal.batch('ops' as never)],
  [
    "batch([{ type: 'merge' }])",
    ErrorCode.INVALID_ARGUMENT,
    (s) => s.wal.batch([{ type: 'merge', key: 'k' } as never]),
  ],
  [
    'batch with one bad op after good ones',
    ErrorCode.INVALID_ARGUMENT,
    (s) =>
      s.wal.batch([{ type: 'put', key: 'a', value: 'b' }, { type: 'put', key: 'c' } as BatchOp]),
  ],
  [
    'batch with a delete that carries a value',
    ErrorCode.INVALID_ARGUMENT,
    (s) => s.wal.batch([{ type: 'delete', key: 'k', value: 'v' } as BatchOp]),
  ],
  [
    'batch over the limit',
    ErrorCode.RECORD_TOO_LARGE,
    (s) =>
      s.wal.batch([
        { type: 'put', key: 'a', value: BIG.subarray(400) },
        { type: 'put', key: 'b', value: BIG.subarray(400) },
      ]),
  ],
  ['truncateThrough(NaN)', ErrorCode.INVALID_ARGUMENT, (s) => s.wal.truncateThrough(Number.NaN)],
  ['truncateThrough(-1)', ErrorCode.INVALID_ARGUMENT, (s) => s.wal.truncateThrough(-1)],
  ['truncateThrough(1.5)', ErrorCode.INVALID_ARGUMENT, (s) => s.wal.truncateThrough(1.5)],
  ["truncateThrough('3')", ErrorCode.INVALID_ARGUMENT, (s) => s.wal.truncateThrough('3' as never)],
  // A closed writer refuses everything.
  ['put on a closed log', ErrorCode.CLOSED, (s) => s.closed.put('k', 'v')],
  ['delete on a closed log', ErrorCode.CLOSED, (s) => s.closed.delete('k')],
  [
    'batch on a closed log',
    ErrorCode.CLOSED,
    (s) => s.closed.batch([{ type: 'delete', key: 'k' }]),
  ],
  ['sync on a closed log', ErrorCode.CLOSED, (s) => s.closed.sync()],
  ['rotate on a closed log', ErrorCode.CLOSED, (s) => s.closed.rotate()],
  ['truncateThrough on a closed log', ErrorCode.CLOSED, (s) => s.closed.truncateThrough(0)],
  ['dropExcessSegments on a closed log', ErrorCode.CLOSED, (s) => s.closed.dropExcessSegments()],
  ['totalSize on a closed log', ErrorCode.CLOSED, (s) => s.closed.totalSize()],
  // Recovery: options checked up front; a file is not a log directory.
  ['recover(42)', ErrorCode.INVALID_ARGUMENT, () => recover(42 as never)],
  [
    'recover with an unknown mode',
    ErrorCode.INVALID_OPTIONS,
    (s) => recover(LOG_DIR, { fs: s.fs, mode: 'lenient' as never }),
  ],
  [
    'recover with fromSequence -1',
    ErrorCode.INVALID_OPTIONS,
    (s) => recover(LOG_DIR, { fs: s.fs, fromSequence: -1 }),
  ],
  [
    'recover with fromSequence 0.5',
    ErrorCode.INVALID_OPTIONS,
    (s) => recover(LOG_DIR, { fs: s.fs, fromSequence: 0.5 }),
  ],
  [
    'recover with toSequence NaN',
    ErrorCode.INVALID_OPTIONS,
    (s) => recover(LOG_DIR, { fs: s.fs, toSequence: Number.NaN }),
  ],
  [
    'recover with limit -1',
    ErrorCode.INVALID_OPTIONS,
    (s) => recover(LOG_DIR, { fs: s.fs, limit: -1 }),
  ],
  [
    'recover with a signal that is not an AbortSignal',
    ErrorCode.INVALID_OPTIONS,
    (s) => recover(LOG_DIR, { fs: s.fs, signal: {} as never }),
  ],
  [
    "recover with ifMissing: 'ignore'",
    ErrorCode.INVALID_OPTIONS,
    (s) => recover(LOG_DIR, { fs: s.fs, ifMissing: 'ignore' as never }),
  ],
  ['recover of a missing directory', ErrorCode.NOT_FOUND, (s) => recover(MISSING, { fs: s.fs })],
  [
    'recover with an unknown option key',
    ErrorCode.INVALID_OPTIONS,
    (s) => recover(LOG_DIR, { fs: s.fs, strict: true } as never),
  ],
  ['recover of a file', ErrorCode.INVALID_ARGUMENT, (s) => recover(FILE, { fs: s.fs })],
  ['recover of foreign files', ErrorCode.CORRUPTION, (s) => recover(FOREIGN, { fs: s.fs })],
  ['scanLog(null)', ErrorCode.INVALID_ARGUMENT, () => drain(scanLog(null as never))],
  ['scanLog of a file', ErrorCode.INVALID_ARGUMENT, (s) => drain(scanLog(FILE, { fs: s.fs }))],
  ['readSegment({})', ErrorCode.INVALID_ARGUMENT, () => drain(readSegment({} as never))],
  [
    'readSegment of a missing file',
    ErrorCode.NOT_FOUND,
    (s) => drain(readSegment(`${MISSING}/wal_00000000.log`, { fs: s.fs })),
  ],
  [
    'readSegment of a foreign file',
    ErrorCode.CORRUPTION,
    (s) => drain(readSegment(`${FOREIGN}/wal_00000000.log`, { fs: s.fs })),
  ],
  ['verify(undefined)', ErrorCode.INVALID_ARGUMENT, () => verify(undefined as never)],
  [
    "verify with mode 'point-in-time'",
    ErrorCode.INVALID_OPTIONS,
    (s) => verify(LOG_DIR, { fs: s.fs, mode: 'point-in-time' as never }),
  ],
  ['verify of a file', ErrorCode.INVALID_ARGUMENT, (s) => verify(FILE, { fs: s.fs })],
  ['verify of a missing directory', ErrorCode.NOT_FOUND, (s) => verify(MISSING, { fs: s.fs })],
  ["repair(['/db'])", ErrorCode.INVALID_ARGUMENT, () => repair([LOG_DIR] as never)],
  [
    "repair with dryRun: 'yes'",
    ErrorCode.INVALID_OPTIONS,
    (s) => repair(LOG_DIR, { fs: s.fs, dryRun: 'yes' as never }),
  ],
  ['repair of a file', ErrorCode.INVALID_ARGUMENT, (s) => repair(FILE, { fs: s.fs })],
  ['repair of a missing directory', ErrorCode.NOT_FOUND, (s) => repair(MISSING, { fs: s.fs })],
  ['repair while a writer holds the log', ErrorCode.LOCKED, (s) => repair(LOG_DIR, { fs: s.fs })],
  // The memtable and replay.
  [
    'new Memtable({ maxSizeBytes: NaN })',
    ErrorCode.INVALID_OPTIONS,
    async () => new Memtable({ maxSizeBytes: Number.NaN }),
  ],
  [
    'new Memtable({ lastSequence: -1 })',
    ErrorCode.INVALID_OPTIONS,
    async () => new Memtable({ lastSequence: -1 }),
  ],
  [
    'new Memtable with an unknown option key',
    ErrorCode.INVALID_OPTIONS,
    async () => new Memtable({ maxSize: 1 } as never),
  ],
  [
    'Memtable put(42, v)',
    ErrorCode.INVALID_ARGUMENT,
    async () => new Memtable().put(42 as never, 'v'),
  ],
  ['Memtable get(null)', ErrorCode.INVALID_ARGUMENT, async () => new Memtable().get(null as never)],
  [
    'replay of a file',
    ErrorCode.INVALID_ARGUMENT,
    (s) => replay(FILE, new Memtable(), { fs: s.fs }),
  ],
  [
    'replay into something not a Memtable',
    ErrorCode.INVALID_ARGUMENT,
    (s) => replay(LOG_DIR, {} as never, { fs: s.fs }),
  ],
  [
    'replay with fromSequence (not one of its options)',
    ErrorCode.INVALID_OPTIONS,
    (s) => replay(LOG_DIR, new Memtable(), { fs: s.fs, fromSequence: 1 } as never),
  ],
  [
    'replay with an unknown mode',
    ErrorCode.INVALID_OPTIONS,
    (s) => replay(LOG_DIR, new Memtable(), { fs: s.fs, mode: 'lenient' as never }),
  ],
  [
    'replay of a missing directory',
    ErrorCode.NOT_FOUND,
    (s) => replay(MISSING, new Memtable(), { fs: s.fs }),
  ],
  [
    'replay over a checkpoint past the end of the log (its sequences went back)',
    ErrorCode.SEQUENCE_REWOUND,
    (s) => replay('/other', new Memtable({ lastSequence: 5 }), { fs: s.fs }),
  ],
  [
    'replay of foreign files',
    ErrorCode.CORRUPTION,
    (s) => replay(FOREIGN, new Memtable(), { fs: s.fs }),
  ],
];

describe('bad input', () => {
  test.each(cases)('%s: %s, nothing on disk changes', async (_, code, run) => {
    const before = scene.fs.snapshot();
    // Some calls throw synchronously (scanLog checks its options at once).
    const error = await Promise.resolve()
      .then(() => run(scene))
      .then(
        () => new Error('resolved'),
        (e: unknown) => e,
      );
    expect(WalError.isInstance(error, code), `got ${String(error)}`).toBe(true);
    await new Promise((r) => setImmediate(r)); // let any group commit run
    expect(scene.fs.snapshot()).toEqual(before);
    expect(scene.wal.state).toBe('open');
  });

  test('files that are not segments are never touched', async () => {
    const fs = new SimFs();
    fs.mkdirp('/mixed');
    const names = ['notes.txt', 'wal.log', 'wal_1.log', 'wal_00000000.log.bak', 'LOCK.old'];
    for (const name of names) fs.writeFile(`/mixed/${name}`, Buffer.from(name));
    const before = fs.snapshot();
    const wal = await Wal.open({ ...walOptions(fs), dir: '/mixed' });
    await wal.put('k', 'v');
    await wal.close();
    expect((await recover('/mixed', { fs })).entries).toHaveLength(1);
    for (const [file, bytes] of before) if (bytes) expect(fs.readFile(file)).toEqual(bytes);
  });

  test('the writer still works after all of them', async () => {
    expect(await scene.wal.put('after', 'ok')).toBe(2);
  });
});
