// Review-found tail bugs: a cross-process tail that polled forever at rot a
// later frame vouches for, and 'latest' on a log with no segment yet that
// dropped what was written after the tail started.
import type { WalFs } from '@wal/fs';
import { Wal } from '@wal/fs';
import { SimFs } from '@wal/fs/testing';
import { type LogTail, recover, tailLog } from '@wal/recovery';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  batchFramesOf,
  concat,
  edit,
  FRAME_HEADER_SIZE,
  flip,
  framesOf,
  SEGMENT_HEADER_SIZE,
  utf8,
} from './helpers.js';

const DIR = '/log';
const FILE = `${DIR}/wal_00000000.log`;
const LOOKS = 300;

const STILL_WAITING = 'still waiting';

// The fs a tail reads through, with a guard counted in its file-system calls,
// not in time: once armed, past LOOKS calls the signal aborts with
// STILL_WAITING, so a tail that would wait forever ends and says so.
// `listed` resolves once its first listing returned.
function guarded(inner: WalFs, armed = true) {
  const controller = new AbortController();
  let calls = 0;
  let counting = armed;
  let done!: () => void;
  const listed = new Promise<void>((resolve) => {
    done = resolve;
  });
  const fs = new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        if (counting && ++calls > LOOKS) controller.abort(new Error(STILL_WAITING));
        const result = await value.apply(target, args);
        if (prop === 'readdir') done();
        return result;
      };
    },
  });
  const arm = () => {
    counting = true;
  };
  return { fs, signal: controller.signal, listed, arm };
}
// What a tail yields and the error it ends with.
async function outcome(tail: LogTail): Promise<{ got: number[]; error: unknown }> {
  const got: number[] = [];
  try {
    for await (const batch of tail.batches()) got.push(...batch.map((e) => e.sequence));
  } catch (error) {
    return { got, error };
  }
  return { got, error: undefined };
}

const frameEnd = (f: { offset: number; size: number } | undefined): number =>
  (f?.offset ?? 0) + (f?.size ?? 0);
const half = (frame: Uint8Array): Uint8Array => frame.subarray(0, frame.length >> 1);

// A closed log of `puts` single-entry frames, its bytes and batch frames.
async function closedLog(puts: number) {
  const sim = new SimFs();
  const wal = await Wal.open({ dir: DIR, fs: sim, preallocateBytes: 0 });
  for (let i = 0; i < puts; i++) await wal.put(`k${i}`, 'value');
  await wal.close();
  const bytes = sim.readFile(FILE);
  return { sim, bytes, frames: batchFramesOf(bytes) };
}

describe('without a writer: damage after a frame only a frame past the damage vouches for', () => {
  test('property: rot in any frame of a closed log yields every frame before it, then WAL_CORRUPTION there', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 8 }).chain((puts) =>
          fc.record({
            puts: fc.constant(puts),
            rotten: fc.integer({ min: 0, max: puts - 1 }),
            at: fc.nat(),
          }),
        ),
        async ({ puts, rotten, at }) => {
          const { sim, bytes, frames } = await closedLog(puts);
          const frame = frames[rotten] as (typeof frames)[number];
          // The bit flipped is in the record, so the frame fails its checksum (a flipped length may
          // instead claim bytes past the end, which reads as a write landing).
          const start = frame.offset;
          const record = frame.size - FRAME_HEADER_SIZE;
          sim.writeFile(FILE, flip(bytes, start + FRAME_HEADER_SIZE + (at % record)));
          const { fs, signal } = guarded(sim);
          const { got, error } = await outcome(
            tailLog(DIR, { fs, signal, pollIntervalMs: 1, watch: false }),
          );
          // Frame `rotten - 1` is confirmed only by the frames past the rot (the close mark at least).
          expect(got).toEqual(Array.from({ length: rotten }, (_, i) => i));
          expect(error).toMatchObject({
            code: 'WAL_CORRUPTION',
            damage: { segment: 0, offset: start },
          });
        },
      ),
      { numRuns: 40 },
    );
  });

  test('property: a rotted length that runs past the end of the file, a frame after it synced past it: WAL_CORRUPTION there, as every reader reports it', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .integer({ min: 2, max: 8 })
          .chain((puts) =>
            fc.record({ puts: fc.constant(puts), rotten: fc.integer({ min: 0, max: puts - 1 }) }),
          ),
        async ({ puts, rotten }) => {
          const { sim, bytes, frames } = await closedLog(puts);
          const frame = frames[rotten] as (typeof frames)[number];
          // The length (little-endian, first in the frame) now claims every byte to the end and more.
          const claim = bytes.length - frame.offset;
          sim.writeFile(
            FILE,
            edit(bytes, (b) => new DataView(b.buffer).setUint32(frame.offset, claim, true)),
          );
          const { fs, signal } = guarded(sim);
          const { got, error } = await outcome(
            tailLog(DIR, { fs, signal, pollIntervalMs: 1, watch: false }),
          );
          expect(got).toEqual(Array.from({ length: rotten }, (_, i) => i));
          const damage = { segment: 0, offset: frame.offset, reason: 'bad-length' };
          expect(error).toMatchObject({ code: 'WAL_CORRUPTION', damage });
          await expect(recover(DIR, { fs: sim })).rejects.toMatchObject({ damage });
        },
      ),
      { numRuns: 30 },
    );
  });

  // Cut where a write stopped: bytes after the kept frames that no frame
  // after them vouches for, so the last frame kept stays unconfirmed.
  const torn = [
    {
      what: 'garbage (no frame) after the last frame',
      kept: 3,
      after: () => utf8('\xff'.repeat(40)),
    },
    {
      what: 'half of the close mark after the last frame',
      kept: 3,
      after: (mark: Uint8Array) => mark.subarray(0, 10),
    },
    { what: 'half of the first frame, nothing before it', kept: 0, after: half },
  ];
  for (const { what, kept, after } of torn) {
    test(`${what}: a write landing, waited for; nothing unconfirmed is yielded`, async () => {
      const { sim, bytes, frames } = await closedLog(3);
      const all = framesOf(bytes).frames;
      const end = kept === 0 ? SEGMENT_HEADER_SIZE : frameEnd(frames[kept - 1]);
      const next = all.find((f) => f.offset === end) as (typeof all)[number];
      const rest = bytes.subarray(next.offset, frameEnd(next));
      sim.writeFile(FILE, concat([bytes.subarray(0, end), after(rest)]));
      const { fs, signal } = guarded(sim);
      const { got, error } = await outcome(
        tailLog(DIR, { fs, signal, pollIntervalMs: 1, watch: false }),
      );
      expect(got).toEqual(Array.from({ length: Math.max(kept - 1, 0) }, (_, i) => i));
      expect(error).toMatchObject({ message: STILL_WAITING });
    });
  }
});

describe("'latest' on a log with no segment yet", () => {
  test('yields every entry written after the tail started, from sequence 0', async () => {
    const sim = new SimFs();
    await sim.mkdirp(DIR);
    const { fs, signal, listed, arm } = guarded(sim, false);
    const tail = tailLog(DIR, { from: 'latest', fs, signal, pollIntervalMs: 1, watch: false });
    const got: number[] = [];
    const done = (async () => {
      for await (const entry of tail) {
        got.push(entry.sequence);
        if (got.length === 3) return;
      }
    })();
    await listed; // the tail found no segment
    const wal = await Wal.open({ dir: DIR, fs: sim });
    for (let i = 0; i < 3; i++) await wal.put(`k${i}`, 'v');
    await wal.close(); // its mark vouches for the last put
    arm();
    await done;
    expect(got).toEqual([0, 1, 2]);
  });
});
