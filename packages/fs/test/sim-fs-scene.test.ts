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

// Uint8Array.prototype.slice of a Buffer is a Buffer again (its species):
// kept as the file's bytes, a kill() copy shared them with the original,
// and a sync made the durable layer a view of the page cache.
test('a file written from a Buffer: a kill() copy is independent of the original', async () => {
  const sim = new SimFs();
  await sim.mkdirp('/d');
  sim.syncAll();
  sim.writeFile('/d/f', Buffer.from('0123456789'));
  const next = sim.kill();
  const fd = await next.open('/d/f', 'r+');
  await next.ftruncate(fd, 4);
  await next.write(fd, Buffer.from('xx'), 0);
  await next.close(fd);
  expect(Buffer.from(next.readFile('/d/f')).toString()).toBe('xx23');
  expect(Buffer.from(sim.readFile('/d/f')).toString()).toBe('0123456789');
  expect(Buffer.from(sim.kill().readFile('/d/f')).toString()).toBe('0123456789');
});

test('a file written from a Buffer: after a sync, an overwrite is not durable until synced', async () => {
  const sim = new SimFs();
  await sim.mkdirp('/d');
  sim.syncAll();
  sim.writeFile('/d/f', Buffer.from('0123456789'));
  const fd = await sim.open('/d/f', 'r+');
  await sim.fdatasync(fd);
  await sim.write(fd, Buffer.from('xx'), 2);
  expect(Buffer.from(sim.crash().readFile('/d/f')).toString()).toBe('0123456789');
  await sim.fdatasync(fd);
  await sim.close(fd);
  expect(Buffer.from(sim.crash().readFile('/d/f')).toString()).toBe('01xx456789');
});
