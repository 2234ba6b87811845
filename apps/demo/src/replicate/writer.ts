// The writer process of `pnpm demo:replicate`: puts through a ReplicatedWal
// (ack 'replicated'), eight at a time, printing `acked <sequence>` as each
// resolves, that is once it is fdatasync'ed here and stored by a quorum of
// the stream; its sealed segments go to an Object Store bucket. It runs
// until it is killed.
import { connect } from '@nats-io/transport-node';
import { ObjectStoreArchive, ReplicatedWal } from '@wal/nats';

const { dir, stream, bucket, servers } = JSON.parse(process.argv[2] as string) as {
  dir: string;
  stream: string;
  bucket: string;
  servers: string[];
};
const nats = await connect({ servers, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
const wal = await ReplicatedWal.open({
  dir,
  nats,
  stream,
  ack: 'replicated',
  maxSegmentBytes: 256 * 1024,
  publishTimeoutMs: 2_000,
  archive: { target: await ObjectStoreArchive.open({ nats, bucket }) },
});
let i = 0;
async function lane(): Promise<void> {
  for (;;) {
    const n = i++;
    const sequence =
      n % 10 === 9
        ? await wal.batch([
            { type: 'put', key: `order:${n % 500}`, value: `batch ${n}` },
            { type: 'delete', key: `order:${(n + 1) % 500}` },
          ])
        : await wal.put(`order:${n % 500}`, `value ${n} `.padEnd(200, '.'));
    console.log(`acked ${sequence}`);
  }
}
await Promise.all(Array.from({ length: 8 }, lane));
