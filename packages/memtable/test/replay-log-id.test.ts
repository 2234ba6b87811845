import { ErrorCode } from '@wal/codec';
import { Wal } from '@wal/fs';
import { SimFs } from '@wal/fs/testing';
import { Memtable, replay } from '@wal/memtable';
import { expect, test } from 'vitest';

// Found by memhunt: a table that names its log (logId) without a lastSequence
// takes any other log's entries in and silently takes on that log's id.
test('a table with a logId but no lastSequence refuses another log, applying nothing', async () => {
  const sim = new SimFs();
  const first = await Wal.open({ dir: '/a', fs: sim });
  await first.put('a', '1');
  await first.close();
  const second = await Wal.open({ dir: '/b', fs: sim });
  await second.put('b', '2');
  await second.close();
  expect(second.logId).not.toBe(first.logId);
  const table = new Memtable({ logId: first.logId });
  const error = await replay('/b', table, { fs: sim }).catch((e: unknown) => e);
  expect(error).toMatchObject({ code: ErrorCode.SEQUENCE_REWOUND });
  expect(table.logId).toBe(first.logId);
  expect(table.has('b')).toBe(false);
});
