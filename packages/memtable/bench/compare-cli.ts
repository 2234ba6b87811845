/**
 * Prints the data-structure comparison. From the repository root:
 *   node --conditions=@wal/source --import tsx packages/memtable/bench/compare-cli.ts \
 *     [--count 1000000] [--key-bytes 16] [--prefix user:] [--rounds 3] [--json]
 */
import { parseArgs } from 'node:util';
import { compareOrderedMaps } from './compare.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '1000000' },
    'key-bytes': { type: 'string', default: '16' },
    prefix: { type: 'string', default: '' },
    rounds: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
  },
});

const result = compareOrderedMaps({
  count: Number(values.count),
  keyBytes: Number(values['key-bytes']),
  prefix: values.prefix,
  rounds: Number(values.rounds),
});

if (values.json) {
  console.log(JSON.stringify(result, null, 2));
} else {
  const keys = result.prefix ? `keys '${result.prefix}' + random bytes` : 'random keys';
  console.log(
    `${result.count} ${keys} of ${result.keyBytes} bytes, best of ${result.rounds}, Node ${result.node}`,
  );
  console.log(
    `${'structure'.padEnd(34)}${'put/s'.padStart(12)}${'get/s'.padStart(12)}${'iterate/s'.padStart(14)}`,
  );
  const millions = (n: number, width: number) => `${(n / 1e6).toFixed(2)}M`.padStart(width);
  for (const r of result.results) {
    console.log(
      `${r.name.padEnd(34)}${millions(r.put, 12)}${millions(r.get, 12)}${millions(r.iterate, 14)}`,
    );
  }
}
