// Scenario (b): the types a TypeScript consumer of @wal/fs sees, both entry points.
import { type SyncMode, Wal, type WalFs, type WalOptions } from '@wal/fs';
import { SimFs } from '@wal/fs/testing';

const fs: WalFs = new SimFs();
const sync: SyncMode = 'always';
const options: WalOptions = { dir: '/log', sync, fs, maxSegmentBytes: 1 << 20 };
const wal: Wal = await Wal.open(options);
const sequence: number = await wal.put('key', new Uint8Array([1, 2, 3]));
const last: number = await wal.batch([{ type: 'delete', key: 'key' }]);
console.log(sequence, last, wal.nextSequence satisfies number);
await wal.close();

// Proof the types are real, not `any`: these must be errors.
// @ts-expect-error not a sync mode
await Wal.open({ dir: '/log', sync: 'sometimes' });
// @ts-expect-error put needs a value
await wal.put('key');
