// Scenario (c): the full stack. Write a log with @wal/fs, verify and recover
// it with @wal/recovery, replay it into a @wal/memtable Memtable, and leave
// `log` (clean) and `damaged` (a flipped byte mid-log) for `npx wal verify`.
import assert from 'node:assert/strict';
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ErrorCode, SEGMENT_HEADER_SIZE, WalError } from '@wal/codec';
import { Wal } from '@wal/fs';
import * as memtable from '@wal/memtable';
import { recover, repair, verify } from '@wal/recovery';

const text = (bytes) => (bytes === undefined ? undefined : new TextDecoder().decode(bytes));

// Write: puts (one empty), deletes and a batch, over several segments.
const model = new Map();
const wal = await Wal.open({ dir: 'log', maxSegmentBytes: 4096 });
for (let i = 0; i < 300; i++) {
  const key = `key:${i % 120}`;
  if (i % 7 === 3) {
    await wal.delete(key);
    model.delete(key);
  } else {
    const value = i % 11 === 0 ? '' : `value ${i}`;
    await wal.put(key, value);
    model.set(key, value);
  }
}
await wal.batch([
  { type: 'put', key: 'batch:a', value: '1' },
  { type: 'put', key: 'batch:b', value: '2' },
  { type: 'delete', key: 'key:0' },
]);
model.set('batch:a', '1').set('batch:b', '2').delete('key:0');
await wal.close();
const segments = readdirSync('log')
  .filter((name) => name.endsWith('.log'))
  .sort();
assert.ok(segments.length >= 3, `expected several segments, found ${segments.length}`);

// Verify and recover: everything written comes back, in order.
const report = await verify('log');
assert.equal(report.ok, true);
assert.equal(report.entries, 303);
const { entries, nextSequence } = await recover('log');
assert.equal(nextSequence, 303);
assert.deepEqual(
  entries.map((e) => e.sequence),
  entries.map((_, i) => i),
);
const recovered = new Map();
for (const entry of entries) {
  if (entry.type === 'put') recovered.set(text(entry.key), text(entry.value));
  else recovered.delete(text(entry.key));
}
assert.deepEqual([...recovered].sort(), [...model].sort());

// Replay into a Memtable.
const table = new memtable.Memtable({ maxSizeBytes: 64 * 1024 * 1024 });
const result = await memtable.replay('log', table);
assert.equal(result.nextSequence, 303);
assert.equal(table.lastSequence, 302);
for (const [key, value] of model) assert.equal(text(table.get(key)), value, key);
assert.equal(table.get('key:0'), undefined);
const replayed = `replayed ${result.applied} entries into a Memtable`;

// A damaged copy: one byte flipped in the middle of the first segment.
cpSync('log', 'damaged', { recursive: true });
const first = path.join('damaged', segments[0]);
const bytes = readFileSync(first);
const middle = SEGMENT_HEADER_SIZE + Math.floor((bytes.length - SEGMENT_HEADER_SIZE) / 2);
bytes[middle] ^= 0x40;
writeFileSync(first, bytes);
const damaged = await verify('damaged');
assert.equal(damaged.ok, false);
assert.ok(damaged.damage.length >= 1);
await assert.rejects(recover('damaged', { mode: 'strict' }), (error) =>
  WalError.isInstance(error, ErrorCode.CORRUPTION),
);
const salvaged = await recover('damaged', { mode: 'skip-corrupted' });
assert.ok(salvaged.entries.length < 303 && salvaged.entries.length > 0);

// Repair a second damaged copy: afterwards it verifies clean.
cpSync('damaged', 'repaired', { recursive: true });
const repaired = await repair('repaired');
assert.ok(repaired.actions.length > 0);
assert.equal((await verify('repaired')).ok, true);
// Repair keeps every intact record: only the damaged one is recorded as lost.
const after = await recover('repaired', { mode: 'strict' });
const lost = repaired.lost.reduce((n, r) => n + r.nextSequence - r.firstSequence, 0);
assert.equal(after.entries.length + lost, 303);
assert.equal(after.nextSequence, 303);

console.log(
  `303 entries over ${segments.length} segments verified and recovered; ${replayed}; ` +
    `damage at byte ${middle} of ${segments[0]} found, ${salvaged.entries.length} entries salvaged, repair verified clean`,
);
