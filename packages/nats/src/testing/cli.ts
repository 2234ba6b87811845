// `node scripts/nats-cluster.mjs start <dir>` starts a three-node JetStream
// cluster on loopback ports (configs, stores, logs, pid files and
// cluster.json in <dir>) and returns once it has a meta leader; `stop <dir>`
// stops each server by its pid. Point the NATS tests at it with
// WAL_NATS_CLUSTER=<dir>.
import { parseArgs } from 'node:util';
import { NatsCluster } from './cluster.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { size: { type: 'string', default: '3' } },
});
const [command, dir] = positionals;
if ((command !== 'start' && command !== 'stop') || dir === undefined) {
  console.error('usage: nats-cluster start|stop <dir> [--size 3]');
  process.exit(2);
}
if (command === 'start') {
  const cluster = await NatsCluster.start({ dir, size: Number(values.size) });
  for (const node of cluster.nodes) {
    console.log(
      `${node.name}: nats://127.0.0.1:${node.port} pid ${node.pid} (monitor :${node.monitorPort})`,
    );
  }
} else {
  await NatsCluster.attach(dir).stop();
  console.log(`stopped the servers of ${dir}`);
}
