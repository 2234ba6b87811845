// The waiter list behind waitDurable (and the nats and archive waits).
import { getEventListeners } from 'node:events';
import { SequenceWaiters } from '@wal/fs/internal';
import { expect, test } from 'vitest';

test('release resolves, in the order they came, exactly the waiters below it', async () => {
  const waiters = new SequenceWaiters<number>();
  const order: number[] = [];
  const done = [5, 2, 9, 3].map((s) => waiters.wait(s).then((v) => order.push(s * 100 + v)));
  waiters.release(6, 1);
  await Promise.all(done.slice(0, 2).concat(done[3] as Promise<number>));
  expect(order).toEqual([501, 201, 301]);
  waiters.release(10, 2);
  await done[2];
  expect(order).toEqual([501, 201, 301, 902]);
});

test('a settled waiter leaves no abort listener behind; an aborted one rejects with the reason', async () => {
  const waiters = new SequenceWaiters();
  const controller = new AbortController();
  const resolved = waiters.wait(1, controller.signal);
  const failed = waiters.wait(2, controller.signal);
  expect(getEventListeners(controller.signal, 'abort')).toHaveLength(2);
  waiters.release(2);
  await resolved;
  waiters.fail(new Error('stopped'));
  await expect(failed).rejects.toThrow('stopped');
  expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);

  const aborted = waiters.wait(3, controller.signal);
  controller.abort(new Error('gave up'));
  await expect(aborted).rejects.toThrow('gave up');
  await expect(waiters.wait(4, controller.signal)).rejects.toThrow('gave up');
  waiters.release(10);
});
