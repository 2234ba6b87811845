// Scenario (b): @wal/fs with only what it depends on. Plain ESM.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { Wal } from '@wal/fs';
import { SimFs } from '@wal/fs/testing';

// A real directory, relative to the project: small segments so it rotates.
const wal = await Wal.open({ dir: 'log', maxSegmentBytes: 4096 });
assert.equal(await wal.put('user:1', 'alice'), 0);
assert.equal(await wal.put('user:2', ''), 1);
assert.equal(await wal.delete('user:1'), 2);
assert.equal(
  await wal.batch([
    { type: 'put', key: 'a', value: 'x' },
    { type: 'delete', key: 'b' },
  ]),
  3,
);
const writes = [];
for (let i = 0; i < 200; i++) writes.push(wal.put(`key:${i}`, 'v'.repeat(64)));
await Promise.all(writes);
await wal.close();
const segments = readdirSync('log').filter((name) => !name.startsWith('.'));
assert.ok(segments.length > 1, `expected rotation, found ${segments.join(', ')}`);

// Reopening continues the sequence; a second writer is locked out.
const again = await Wal.open({ dir: 'log' });
assert.equal(again.nextSequence, 205);
await assert.rejects(Wal.open({ dir: 'log' }), { code: 'WAL_LOCKED' });
await again.close();
await assert.rejects(again.put('k', 'v'), { code: 'WAL_CLOSED' });

// The second entry point: a simulated file system with power loss.
const sim = new SimFs();
const simWal = await Wal.open({ dir: '/sim/log', fs: sim });
await simWal.put('k', 'v');
await simWal.close();
assert.equal(sim.openHandles, 0);

console.log(
  `205 sequences over ${segments.length} segments, lock and close as documented, SimFs from @wal/fs/testing`,
);
