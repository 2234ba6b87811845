import { decodeAll, encodeRecord } from '@wal/codec';
import { expect, test } from 'vitest';

test('resolves @wal/codec from source', () => {
  const frame = encodeRecord(0, [{ type: 'delete', key: new Uint8Array() }]);
  expect(decodeAll(frame)[0]?.kind).toBe('record');
});
