// docs/reliability.md says what the code does, and these tests keep it so.
// - The damage table, measured: each kind of damage is made on a log the
//   writer left, and Wal.open, every recovery mode, verify and repair are
//   run on a copy of it. The table they produce must be the one in the
//   document, cell for cell, so the document can never claim more (or less)
//   than the code does. After every repair, the log verifies clean in strict
//   mode and the writer continues at the sequence repair named.
// - The format's overhead, from @wal/codec's constants.
// - The mutants of `pnpm test:mutants`, each listed with a test of the files
//   scripts/mutants.mjs runs first to kill it.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BATCH_PREFIX_SIZE,
  CorruptionError,
  encodeSegmentHeader,
  FRAME_HEADER_SIZE,
  HOLE_RECORD_SIZE,
  MARK_RECORD_SIZE,
  OP_HEADER_SIZE,
  SEAL_FRAME_SIZE,
  SEGMENT_HEADER_SIZE,
  VALUE_LENGTH_SIZE,
  WalError,
} from '@wal/codec';
import { type SyncMode, Wal } from '@wal/fs';
import { segmentFileName } from '@wal/fs/segments';
import { SimFs } from '@wal/fs/testing';
import { type RecoveryMode, recover, repair, verify } from '@wal/recovery';
import { expect, test } from 'vitest';
import { framesOf, headerOf } from './support/segment-bytes.js';

const DIR = '/wal';
const DOC = fileURLToPath(new URL('../../../docs/reliability.md', import.meta.url));
const doc = () => fs.readFileSync(DOC, 'utf8');

// The text between `<!-- name:start -->` and `<!-- name:end -->` in the document.
function section(name: string): string {
  const text = doc();
  const start = text.indexOf(`<!-- ${name}:start -->`);
  const end = text.indexOf(`<!-- ${name}:end -->`);
  expect(start, `docs/reliability.md has a ${name} section`).toBeGreaterThan(-1);
  expect(end).toBeGreaterThan(start);
  return text.slice(start + `<!-- ${name}:start -->`.length, end).trim();
}
const MODES: readonly RecoveryMode[] = [
  'strict',
  'tolerate-tail',
  'point-in-time',
  'skip-corrupted',
];
// Entries per segment; three segments, 0 and 1 sealed.
const PER_SEGMENT = 4;
const ENTRIES = 3 * PER_SEGMENT;

const file = (segment: number) => `${DIR}/${segmentFileName(segment)}`;
const value = (i: number) => `value ${i} `.repeat(4);

interface Scene {
  /** How the log was left: closed cleanly (a mark ends it), or its writer killed. */
  end: 'closed' | 'killed';
  /** The sync mode of the last segment's appends. */
  sync: SyncMode;
}

/** Three segments of PER_SEGMENT puts each, as the writer leaves them. */
async function writtenLog({ end, sync }: Scene): Promise<SimFs> {
  const sim = new SimFs();
  const wal = await Wal.open({ dir: DIR, fs: sim, sync: 'always' });
  for (let i = 0; i < ENTRIES; i++) {
    if (i > 0 && i % PER_SEGMENT === 0) await wal.rotate();
    if (i === 2 * PER_SEGMENT && sync !== 'always') {
      // The last segment's appends in one unsynced run (a 'none' writer).
      await wal.close();
      const none = await Wal.open({ dir: DIR, fs: sim, sync });
      for (let j = i; j < ENTRIES; j++) await none.put(`k${j}`, value(j));
      const killed = sim.kill();
      await none.close();
      return killed;
    }
    await wal.put(`k${i}`, value(i));
  }
  if (end === 'killed') {
    const killed = sim.kill();
    await wal.close();
    return killed;
  }
  await wal.close();
  return sim;
}

const edit = (sim: SimFs, f: string, change: (bytes: Uint8Array) => Uint8Array | undefined) => {
  const bytes = sim.readFile(f);
  sim.writeFile(f, change(bytes) ?? bytes);
};
const flipAt = (sim: SimFs, f: string, at: (bytes: Uint8Array) => number) =>
  edit(sim, f, (b) => {
    const i = at(b);
    b[i] = (b[i] as number) ^ 0x10;
    return b;
  });
const batches = (bytes: Uint8Array) => framesOf(bytes).filter((f) => f.record.type === 'batch');
const lastFrame = (bytes: Uint8Array) => framesOf(bytes).at(-1) as ReturnType<typeof framesOf>[0];
// The middle of the value of the n-th batch frame of a segment.
const inValue = (n: number) => (bytes: Uint8Array) => {
  const f = batches(bytes).at(n) as ReturnType<typeof framesOf>[0];
  return f.offset + f.size - 8;
};

interface Row {
  damage: string;
  scene: Scene;
  /** Damages the log in `sim`, or returns the file system to use instead. */
  make: (sim: SimFs) => Promise<unknown> | unknown;
}

const closed: Scene = { end: 'closed', sync: 'always' };
const killed: Scene = { end: 'killed', sync: 'always' };
const unsynced: Scene = { end: 'killed', sync: 'none' };

const ROWS: Row[] = [
  {
    damage: 'torn tail: the last frame cut short by a power loss',
    scene: killed,
    make: (sim) =>
      edit(sim, file(2), (b) => b.subarray(0, lastFrame(b).offset + FRAME_HEADER_SIZE + 5)),
  },
  {
    damage: 'torn tail: a zeroed sector in a write that was never synced, frames of it after',
    scene: unsynced,
    make: (sim) =>
      edit(sim, file(2), (b) => {
        const f = batches(b)[1] as ReturnType<typeof framesOf>[0];
        b.fill(0, f.offset + 4, f.offset + 24);
        return b;
      }),
  },
  {
    damage: 'garbage appended after the close mark',
    scene: closed,
    make: (sim) => edit(sim, file(2), (b) => Buffer.concat([b, Buffer.from('junk after the end')])),
  },
  {
    damage: 'bit flip in the last frame, nothing written after it (a crash before close)',
    scene: killed,
    make: (sim) => flipAt(sim, file(2), inValue(-1)),
  },
  {
    damage: 'bit flip in the close mark',
    scene: closed,
    make: (sim) => flipAt(sim, file(2), (b) => lastFrame(b).offset + FRAME_HEADER_SIZE + 6),
  },
  {
    damage: 'bit flip in a value of the last segment, later-synced frames after it',
    scene: closed,
    make: (sim) => flipAt(sim, file(2), inValue(1)),
  },
  {
    damage: 'bit flip in the last frame before the close mark',
    scene: closed,
    make: (sim) => flipAt(sim, file(2), inValue(-1)),
  },
  {
    damage: 'bit flip in a value of a sealed segment',
    scene: closed,
    make: (sim) => flipAt(sim, file(0), inValue(1)),
  },
  {
    damage: 'bit flip in a length field of a sealed segment',
    scene: closed,
    make: (sim) => flipAt(sim, file(0), (b) => (batches(b)[1]?.offset ?? 0) + 2),
  },
  {
    damage: 'bit flip in a seal',
    scene: closed,
    make: (sim) => flipAt(sim, file(1), (b) => b.length - 3),
  },
  {
    damage: 'zeroed bytes (a lost sector) inside a sealed segment',
    scene: closed,
    make: (sim) =>
      edit(sim, file(0), (b) => {
        const f = batches(b)[1] as ReturnType<typeof framesOf>[0];
        b.fill(0, f.offset + 4, f.offset + f.size + 8);
        return b;
      }),
  },
  {
    damage: 'a frame written twice inside a sealed segment',
    scene: closed,
    make: (sim) =>
      edit(sim, file(0), (b) => {
        const f = batches(b)[1] as ReturnType<typeof framesOf>[0];
        const end = f.offset + f.size;
        return Buffer.concat([b.subarray(0, end), b.subarray(f.offset, end), b.subarray(end)]);
      }),
  },
  {
    damage: 'a frame written twice in the last segment, later-synced frames after it',
    scene: closed,
    make: (sim) =>
      edit(sim, file(2), (b) => {
        const f = batches(b)[1] as ReturnType<typeof framesOf>[0];
        const end = f.offset + f.size;
        return Buffer.concat([b.subarray(0, end), b.subarray(f.offset, end), b.subarray(end)]);
      }),
  },
  {
    damage: 'bit flip in the header of a sealed segment',
    scene: closed,
    make: (sim) => flipAt(sim, file(1), () => 20),
  },
  {
    damage: 'bit flip in the header of the last segment',
    scene: closed,
    make: (sim) => flipAt(sim, file(2), () => 20),
  },
  {
    damage: 'a header of another format version',
    scene: closed,
    make: (sim) =>
      edit(sim, file(1), (b) => {
        const header = headerOf(b);
        if (!header) throw new Error('fixture');
        const h = encodeSegmentHeader(header);
        h[8] = 3; // the version field; the CRC is left as it was
        b.set(h, 0);
        return b;
      }),
  },
  {
    damage: 'sealed segment that lost its last 100 bytes',
    scene: closed,
    make: (sim) => edit(sim, file(0), (b) => b.subarray(0, b.length - 100)),
  },
  {
    damage: 'sealed segment extended past its seal',
    scene: closed,
    make: (sim) => edit(sim, file(1), (b) => Buffer.concat([b, new Uint8Array(64)])),
  },
  {
    damage: 'missing middle segment',
    scene: closed,
    make: (sim) => sim.unlink(file(1)),
  },
  {
    damage: 'missing last segment',
    scene: closed,
    make: (sim) => sim.unlink(file(2)),
  },
  {
    damage: 'missing first segment',
    scene: closed,
    make: (sim) => sim.unlink(file(0)),
  },
  {
    damage: 'duplicated segment: a copy of segment 1 as segment 3',
    scene: closed,
    make: (sim) => sim.writeFile(file(3), sim.readFile(file(1))),
  },
  {
    damage: 'reordered segments: 0 and 1 swapped',
    scene: closed,
    make: (sim) => {
      const zero = sim.readFile(file(0));
      sim.writeFile(file(0), sim.readFile(file(1)));
      sim.writeFile(file(1), zero);
    },
  },
  {
    damage: "a segment of another log in the last segment's place",
    scene: closed,
    make: async (sim) => {
      const other = await writtenLog(closed);
      sim.writeFile(file(2), other.readFile(file(2)));
    },
  },
  {
    damage: 'last segment shorter than its header (1 byte)',
    scene: closed,
    make: (sim) => edit(sim, file(2), (b) => b.subarray(0, 1)),
  },
  {
    damage: 'empty file under the next segment name',
    scene: closed,
    make: (sim) => sim.writeFile(file(3), new Uint8Array(0)),
  },
  {
    damage: 'unfinished segment creation (a leftover .tmp)',
    scene: closed,
    make: (sim) => sim.writeFile(`${file(3)}.tmp`, sim.readFile(file(2)).subarray(0, 20)),
  },
  {
    damage: 'last segment cut at a frame boundary (its mark and last frame gone)',
    scene: closed,
    make: (sim) => edit(sim, file(2), (b) => b.subarray(0, batches(b).at(-1)?.offset)),
  },
  {
    damage: 'missing directory',
    scene: closed,
    make: () => new SimFs(),
  },
];

function codeOf(error: unknown): string {
  if (error instanceof CorruptionError) return error.damage.reason;
  if (error instanceof WalError) return error.code;
  throw error;
}

async function openCell(sim: SimFs): Promise<string> {
  const before = new Set(sim.snapshot().keys());
  try {
    const wal = await Wal.open({ dir: DIR, fs: sim });
    const removed = [...before].filter((f) => !sim.snapshot().has(f));
    const cut = wal.repairs.map(() => 'cuts the tail, keeps it in .broken');
    await wal.close();
    if (!before.has(DIR)) return 'creates it';
    return (
      [...cut, ...removed.map((f) => `removes ${f.slice(DIR.length + 1)}`)].join('; ') || 'opens'
    );
  } catch (error) {
    return `refuses (${codeOf(error)})`;
  }
}

async function modeCell(sim: SimFs, mode: RecoveryMode): Promise<string> {
  try {
    const { entries, stats } = await recover(DIR, { fs: sim, mode });
    const n = `${entries.length} of ${ENTRIES}`;
    if (stats.stoppedAt) return `stops there: ${n}`;
    const damage = stats.damage.filter((d) => d !== stats.tornTail);
    if (damage.length > 0) return `skips it: ${n}`;
    if (stats.tornTail) return `drops the tail: ${n}`;
    return `reads: ${n}`;
  } catch (error) {
    return `refuses (${codeOf(error)})`;
  }
}

async function verifyCell(sim: SimFs): Promise<string> {
  try {
    const report = await verify(DIR, { fs: sim });
    if (!report.ok)
      return `not ok (${[...new Set(report.damage.map((d) => d.reason))].join(', ')})`;
    return report.tornTail ? 'ok, torn tail' : 'ok';
  } catch (error) {
    return codeOf(error);
  }
}

async function repairCell(sim: SimFs): Promise<string> {
  let done: Awaited<ReturnType<typeof repair>>;
  try {
    done = await repair(DIR, { fs: sim });
  } catch (error) {
    return codeOf(error);
  }
  // Afterwards the log is clean, and the writer continues where repair said.
  const after = await verify(DIR, { fs: sim, mode: 'strict' });
  expect(after.damage).toEqual([]);
  const wal = await Wal.open({ dir: DIR, fs: sim });
  expect(wal.nextSequence).toBe(done.nextSequence);
  await wal.close();
  if (done.actions.length === 0) return 'nothing to do';
  const lost = done.lost.reduce((n, r) => n + r.nextSequence - r.firstSequence, 0);
  const verbs = { rebuild: 'rebuilds', remove: 'sets aside', create: 'creates' } as const;
  const acts = done.actions.map((a) => `${verbs[a.action]} ${a.segment ?? '?'}`);
  return `${acts.join(', ')}; ${lost} lost`;
}

const clone = (sim: SimFs) => sim.kill();

async function measure(row: Row): Promise<string[]> {
  const written = await writtenLog(row.scene);
  const replaced = await row.make(written);
  const sim = replaced instanceof SimFs ? replaced : written;
  sim.syncAll();
  const cells = [await openCell(clone(sim))];
  for (const mode of MODES) cells.push(await modeCell(clone(sim), mode));
  cells.push(await verifyCell(clone(sim)), await repairCell(clone(sim)));
  return cells;
}

function render(rows: string[][]): string {
  const head = ['damage', 'Wal.open', ...MODES.map((m) => `\`${m}\``), 'verify', 'repair'];
  return [head, head.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

test('the damage table in docs/reliability.md is what open, the modes, verify and repair do', async () => {
  const rows: string[][] = [];
  for (const row of ROWS) rows.push([row.damage, ...(await measure(row))]);
  const table = render(rows);
  expect(section('damage-table'), table).toBe(table);
}, 120_000);

test("the format's overhead in docs/reliability.md is @wal/codec's", () => {
  const batch = FRAME_HEADER_SIZE + BATCH_PREFIX_SIZE;
  const put = OP_HEADER_SIZE + VALUE_LENGTH_SIZE;
  const rows = [
    ['frame header: length, CRC', FRAME_HEADER_SIZE],
    ['batch record prefix: type, synced, first sequence, op count', BATCH_PREFIX_SIZE],
    ['each op: kind, key length', OP_HEADER_SIZE],
    ["each put: its value's length", VALUE_LENGTH_SIZE],
    ['one `put` (a batch of one), besides its key and value', batch + put],
    ['one `delete`, besides its key', batch + OP_HEADER_SIZE],
    [
      'a batch of *n* ops, *p* of them puts, besides keys and values',
      `${batch} + ${OP_HEADER_SIZE}n + ${VALUE_LENGTH_SIZE}p`,
    ],
    ['segment header', SEGMENT_HEADER_SIZE],
    ['seal frame, at the end of every segment but the last', SEAL_FRAME_SIZE],
    ['so each sealed segment, besides its frames', SEGMENT_HEADER_SIZE + SEAL_FRAME_SIZE],
    [
      'mark frame: at close, and before a group encoded before the sync that ended',
      FRAME_HEADER_SIZE + MARK_RECORD_SIZE,
    ],
    ['hole frame (written by repair)', FRAME_HEADER_SIZE + HOLE_RECORD_SIZE],
  ];
  const table = [
    '| what | bytes |',
    '|---|---|',
    ...rows.map(([what, n]) => `| ${what} | ${n} |`),
  ].join('\n');
  expect(section('overhead'), table).toBe(table);
});

test('every mutant of scripts/mutants.mjs is in docs/reliability.md, killed by a test of its killers', async () => {
  const { MUTANTS } = (await import(
    new URL('../../../scripts/mutants.mjs', import.meta.url).href
  )) as {
    MUTANTS: { name: string; killers: string[] }[];
  };
  const rows = new Map(
    section('mutants')
      .split('\n')
      .slice(2)
      .map((line) => line.split('|').map((cell) => cell.trim()))
      .map((cells) => [cells[1]?.replaceAll('`', '') ?? '', cells[3] ?? ''] as const),
  );
  expect([...rows.keys()]).toEqual(MUTANTS.map((m) => m.name));
  for (const m of MUTANTS) {
    expect(m.killers.length, m.name).toBeGreaterThan(0);
    const files = m.killers.map((f) => path.basename(f));
    expect(
      files.some((f) => rows.get(m.name)?.includes(f)),
      `${m.name}: killed by ${rows.get(m.name)}, expected one of ${files.join(', ')}`,
    ).toBe(true);
  }
});
