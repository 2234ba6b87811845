import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { Reader } from './cases/read-path.js';
import {
  copyFloor,
  naiveLoadAll,
  replayEntries,
  scanEntries,
  scanEntryByEntry,
  segmentPaths,
} from './wal-api.js';

// One reader per process, so its peak RSS is its own. Prints JSON.
const [reader, dir] = process.argv.slice(2) as [Reader, string];
const start = performance.now();
let bytes = 0;
for (const file of await segmentPaths(dir)) bytes += fs.statSync(file).size;
const readers: Record<Reader, () => Promise<number>> = {
  scan: () => scanEntries(dir),
  'scan-entries': () => scanEntryByEntry(dir),
  replay: () => replayEntries(dir),
  'copy-floor': () => copyFloor(dir),
  naive: () => naiveLoadAll(dir),
  baseline: async () => 0,
};
const entries = await readers[reader]();
const seconds = (performance.now() - start) / 1000;
const maxRssMiB = peakRssMiB();
process.stdout.write(JSON.stringify({ entries, bytes, seconds, maxRssMiB }));

// VmHWM is this address space's peak RSS. getrusage's maxRSS is not: Linux
// carries it over exec from the forking parent, so a child would report the
// bench's own size.
function peakRssMiB(): number {
  try {
    const kib = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (kib) return Number(kib) / 1024;
  } catch {
    // Not Linux.
  }
  return process.resourceUsage().maxRSS / 1024;
}
