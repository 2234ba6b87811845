// SimFs.writeFile sets a scene: the bytes it is given become a durable
// file. It must copy them. A Buffer's slice() is a view, not a copy, so a
// Buffer passed in must not end up shared between the caller, the page
// cache and the durable layer (where a later write would be durable at once).
import { SimFs } from '@wal/fs/testing';
import { expect, test } from 'vitest';

test('writeFile copies a Buffer: later writes reach neither the caller nor stable storage', async () => {
  const sim = new SimFs();
  await sim.mkdirp('/d');
  sim.syncAll(); // the directory is part of the scene too
  const given = Buffer.from('0123456789');
  sim.writeFile('/d/f', given);
  const fd = await sim.open('/d/f', 'r+');
  await sim.write(fd, Buffer.from('xx'), 0);
  await sim.ftruncate(fd, 4);
  await sim.close(fd);
  expect(given.toString()).toBe('0123456789');
  expect(Buffer.from(sim.readFile('/d/f')).toString()).toBe('xx23');
  // Never synced: a power loss brings back what writeFile made durable.
  expect(Buffer.from(sim.crash().readFile('/d/f')).toString()).toBe('0123456789');
});
