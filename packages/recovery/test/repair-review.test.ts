// repair, cases a review found: a salt solved from a single frame is no
// proof of that frame (it validates any frame, rotted or not), and a
// damaged header's frames that are another segment's copy must not take
// sequences later segments hold.
import { HEADER_SALT_OFFSET } from '@wal/codec';
import type { SimFs } from '@wal/fs/testing';
import { recover, repair } from '@wal/recovery';
import { describe, expect, test } from 'vitest';
import { type BuiltLog, edit, flip, hex, plain, put, puts, simLog, utf8 } from './helpers.js';

// A copy of `bytes` with the first `from` (a UTF-8 string in them) made `to`.
function replaceText(bytes: Uint8Array, from: string, to: string): Uint8Array {
  const at = Buffer.from(bytes).indexOf(Buffer.from(from));
  if (at < 0 || from.length !== to.length) throw new Error('fixture');
  return edit(bytes, (b) => b.set(utf8(to), at));
}

const valuesOf = async (sim: SimFs) =>
  (await recover('/wal', { fs: sim, mode: 'strict' })).entries.map(plain).map((e) => e.value);

describe('a damaged header over a segment of one record', () => {
  // Segment 0 sealed (sequences 0, 1); segment 1, the last, holds one record (2).
  async function oneRecord() {
    const { sim, log } = await simLog([puts(2), [[put('one', 'value-one')]]]);
    return { sim, log, s1: log.segments[1] as BuiltLog['segments'][number] };
  }

  test('its magic flipped and its value rotted: the record is not rebuilt from a salt solved from it; lost says so', async () => {
    const { sim, s1 } = await oneRecord();
    sim.writeFile(s1.file, replaceText(flip(s1.bytes, 0), 'value-one', 'value-ond'));
    const done = await repair('/wal', { fs: sim });
    expect(done).toMatchObject({ nextSequence: 3, lost: [{ firstSequence: 2, nextSequence: 3 }] });
    expect(done.actions).toMatchObject([
      { action: 'remove', segment: 1, damage: [{ reason: 'bad-header' }] },
      { action: 'create', segment: 1, lost: [{ firstSequence: 2, nextSequence: 3 }] },
    ]);
    const values = await valuesOf(sim);
    expect(values).not.toContain(hex(utf8('value-ond')));
    expect(values).toHaveLength(2);
  });

  test('its salt damaged, its record intact: the solved salt makes the header whole, so the record is kept', async () => {
    const { sim, s1 } = await oneRecord();
    sim.writeFile(s1.file, flip(s1.bytes, HEADER_SALT_OFFSET + 1, 0x10));
    const done = await repair('/wal', { fs: sim });
    expect(done).toMatchObject({ nextSequence: 3, lastSequence: 2, lost: [] });
    expect(await valuesOf(sim)).toContain(hex(utf8('value-one')));
  });
});
