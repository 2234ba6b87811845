// Scenario (c), once @wal/memtable exports them: Memtable and replay.
import { Memtable, replay } from '@wal/memtable';

const table = new Memtable({ maxSizeBytes: 1 << 20 });
table.put('k', 'v');
table.delete('gone');
const value: Uint8Array | undefined = table.get('k');
const result = await replay('log', table, { mode: 'tolerate-tail' });
console.log(value, result.nextSequence satisfies number, table.lastSequence, table.sizeBytes);

// @ts-expect-error not a recovery mode
await replay('log', table, { mode: 'best-effort' });
