/**
 * The memtable's part of the bench on its own: the ordered-map comparison,
 * then replay-style ingestion. From the repository root:
 *   node --conditions=@wal/source --import tsx apps/bench/src/memtable-cli.ts \
 *     [--count 1000000] [--key-bytes 16] [--prefix user:] [--rounds 3] [--json]
 */
import { parseArgs } from 'node:util';
import { memtableIngest } from './cases/memtable-ingest.js';
import { compareOrderedMaps } from './cases/ordered-maps.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '1000000' },
    'key-bytes': { type: 'string', default: '16' },
    prefix: { type: 'string', default: '' },
    rounds: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
  },
});
const count = Number(values.count);
const rounds = Number(values.rounds);

const result = compareOrderedMaps({
  count,
  keyBytes: Number(values['key-bytes']),
  prefix: values.prefix,
  rounds,
});
const ingest = await memtableIngest(count, 100, rounds);

if (values.json) {
  console.log(JSON.stringify({ ...result, ingest }, null, 2));
} else {
  const keys = result.prefix ? `keys '${result.prefix}' + random bytes` : 'random keys';
  console.log(
    `${result.count} ${keys} of ${result.keyBytes} bytes, best of ${result.rounds}, Node ${result.node}`,
  );
  console.log(
    `${'structure'.padEnd(48)}${'put/s'.padStart(10)}${'get/s'.padStart(10)}${'iterate/s'.padStart(12)}`,
  );
  const millions = (n: number, width: number) => `${(n / 1e6).toFixed(2)}M`.padStart(width);
  for (const r of result.results) {
    console.log(
      `${r.name.padEnd(48)}${millions(r.put, 10)}${millions(r.get, 10)}${millions(r.iterate, 12)}`,
    );
  }
  console.log('\nreplay-style ingestion, median of the rounds');
  for (const r of ingest) {
    const figure = r.unit === 'entries/s' ? millions(r.median, 8) : `${r.median.toFixed(1)}%`;
    console.log(
      `${r.name}: ${figure} ${r.unit === 'entries/s' ? 'entries/s' : 'of the time in GC'}`,
    );
  }
}
