// SimFs models a write on an 'r+dsync' handle (O_DSYNC) as two steps, each
// reported: the write (a crash then finds it as any unsynced write), then
// the sync of its own range, which makes that range durable and nothing else
// of the file, and fails as an fdatasync does.
import { SimFs } from '@wal/fs/testing';
import { expect, test } from 'vitest';

const text = (b: Uint8Array) => Buffer.from(b).toString();

async function scene(): Promise<SimFs> {
  const sim = new SimFs();
  await sim.mkdirp('/d');
  sim.writeFile('/d/f', Buffer.from('0123456789'));
  sim.syncAll();
  return sim;
}

test('a durable write survives a power loss with no fdatasync; a plain write does not', async () => {
  const sim = await scene();
  const durable = await sim.open('/d/f', 'r+dsync');
  await sim.write(durable, Buffer.from('ab'), 0);
  expect(text(sim.crash().readFile('/d/f'))).toBe('ab23456789');
  const plain = await sim.open('/d/f', 'r+');
  await sim.write(plain, Buffer.from('cd'), 2);
  expect(text(sim.crash().readFile('/d/f'))).toBe('ab23456789');
  expect(text(sim.readFile('/d/f'))).toBe('abcd456789');
});

test('it syncs its own range only: bytes written before it elsewhere in the file stay unsynced', async () => {
  const sim = await scene();
  const plain = await sim.open('/d/f', 'r+');
  await sim.write(plain, Buffer.from('PP'), 8);
  const durable = await sim.open('/d/f', 'r+dsync');
  await sim.write(durable, Buffer.from('DD'), 0);
  // Growing the file: the size it reaches is durable with it.
  await sim.write(durable, Buffer.from('EE'), 10);
  expect(text(sim.crash().readFile('/d/f'))).toBe('DD23456789EE');
  expect(text(sim.readFile('/d/f'))).toBe('DD234567PPEE');
});

test('a crash between the write and its sync can find it unsynced', async () => {
  const sim = await scene();
  const durable = await sim.open('/d/f', 'r+dsync');
  const states: string[] = [];
  sim.onOperation = (event) => {
    states.push(`${event.op}:${text(sim.crash().readFile('/d/f'))}`);
  };
  await sim.write(durable, Buffer.from('ab'), 0);
  expect(states).toEqual(['write:0123456789', 'fdatasync:ab23456789']);
});

test('a failed sync: the write rejects, its bytes are read back but not durable, and a later fdatasync does not make them so (fsyncgate)', async () => {
  const sim = await scene();
  const durable = await sim.open('/d/f', 'r+dsync');
  sim.inject({ ops: ['fdatasync'] });
  await expect(sim.write(durable, Buffer.from('ab'), 0)).rejects.toMatchObject({ code: 'EIO' });
  expect(text(sim.readFile('/d/f'))).toBe('ab23456789');
  await sim.fdatasync(durable);
  expect(text(sim.crash().readFile('/d/f'))).toBe('0123456789');
  // Written again, the pages are dirty again and the write syncs them.
  await sim.write(durable, Buffer.from('ab'), 0);
  expect(text(sim.crash().readFile('/d/f'))).toBe('ab23456789');
});

test('with inFlightSyncs the sync completes a turn later: a crash before then finds the write unsynced', async () => {
  const sim = new SimFs({ inFlightSyncs: true });
  await sim.mkdirp('/d');
  sim.writeFile('/d/f', Buffer.from('0123456789'));
  sim.syncAll();
  const durable = await sim.open('/d/f', 'r+dsync');
  const pending = sim.write(durable, Buffer.from('ab'), 0);
  await Promise.resolve();
  await Promise.resolve();
  expect(text(sim.crash().readFile('/d/f'))).toBe('0123456789');
  expect(await pending).toBe(2);
  expect(text(sim.crash().readFile('/d/f'))).toBe('ab23456789');
});
