// The archiver process of `pnpm demo:replicate`: every 100 ms it ships the
// sealed segments of the log that the Object Store bucket lacks, in order,
// and prints `archived <segment>` once each put resolved. Sealed segments
// are final, so it can follow a writer from outside its process (and
// outlive it). It runs until it is stopped.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from '@nats-io/transport-node';
import { listSealedSegments } from '@wal/fs';
import { ObjectStoreArchive } from '@wal/nats';

const { dir, bucket, servers } = JSON.parse(process.argv[2] as string) as {
  dir: string;
  bucket: string;
  servers: string[];
};
const nats = await connect({ servers, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
const archive = await ObjectStoreArchive.open({ nats, bucket });
const archived = new Set((await archive.list()).map((s) => s.segment));
for (;;) {
  const sealed = await listSealedSegments(dir).catch(() => []);
  for (const { file, ...info } of sealed) {
    if (archived.has(info.segment)) continue;
    await archive.put(info, readFileSync(file));
    archived.add(info.segment);
    console.log(`archived ${info.segment}`);
  }
  await sleep(100);
}
