/**
 * The CRC-32 study on its own, with an optional native package that is not a
 * dependency of this repo:
 *
 *   mkdir /tmp/crcstudy && npm i --prefix /tmp/crcstudy @node-rs/crc32
 *   node --conditions=@wal/source --import tsx apps/bench/src/crc-study.ts \
 *     --native /tmp/crcstudy/node_modules/@node-rs/crc32
 *
 * `--native` names a package directory whose `crc32(data, seed?)` is IEEE
 * CRC-32; every implementation is checked against zlib before it is timed.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { crcThroughput, frameCheckCost, type NativeCrc } from './cases/crc.js';
import { crcTables } from './report.js';

const { values } = parseArgs({
  options: { native: { type: 'string' }, rounds: { type: 'string', default: '7' } },
});
const native = values.native
  ? (createRequire(import.meta.url)(path.resolve(values.native)) as { crc32: NativeCrc }).crc32
  : undefined;
const rounds = Number(values.rounds);
const rows = [
  ...crcThroughput(rounds, 8 << 20, native),
  ...frameCheckCost(100, rounds, native),
  ...frameCheckCost(1024, rounds, native),
];
process.stdout.write(`${process.version}\n\n${crcTables(rows)}\n`);
