import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { decodeFrameAt, SEGMENT_HEADER_SIZE } from '@wal/codec';
import { listSegments, nodeFs } from '@wal/fs';
import { Memtable, replay } from '@wal/memtable';
import { scanLog } from '@wal/recovery';

// One reader per process, so its peak RSS is its own. Prints JSON.
const [mode, dir] = process.argv.slice(2) as [string, string];
const start = performance.now();
let entries = 0;
let bytes = 0;
for (const s of listSegments(nodeFs, dir)) bytes += fs.statSync(s.path).size;

if (mode === 'scan') {
  for await (const _ of scanLog(dir)) entries++;
} else if (mode === 'replay') {
  entries = (await replay(dir, new Memtable())).applied;
} else if (mode === 'naive') {
  // What the original did: every file read whole, every entry copied into one array.
  const all: { sequence: number; key: Uint8Array; value?: Uint8Array }[] = [];
  for (const s of listSegments(nodeFs, dir)) {
    const file = fs.readFileSync(path.join(dir, s.name));
    for (let p = SEGMENT_HEADER_SIZE; p < file.length; ) {
      const r = decodeFrameAt(file, p, file.length);
      if (r.status !== 'record') break;
      for (const e of r.record.entries) {
        all.push({ sequence: e.sequence, key: e.key.slice(), value: e.value?.slice() });
      }
      p += r.size;
    }
  }
  entries = all.length;
}
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
