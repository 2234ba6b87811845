import path from 'node:path';
import { describeValue, isIndex } from '@wal/codec';
import { checkPath } from '@wal/codec/internal';
import { errnoOf } from '@wal/fs/internal';
import { readWhole } from './archive-check.js';
import { parseIncidentsOptions } from './options.js';
import { incidentNumbers, MANIFEST_FILE, QUARANTINE_DIR } from './repair.js';
import type { CommonOptions } from './types.js';

/** One repair of a log, as the manifest in its `quarantine/<incident>/` folder records it. */
export interface Incident {
  /** Its number: the folder `quarantine/<incident>/`. */
  incident: number;
  /** That folder. */
  incidentDir: string;
  /** The log it repaired; null when the manifest is unreadable. */
  logId: string | null;
  /**
   * Where the repair continued the log: the writer's next sequence after
   * it (or where it meant to, for a repair that died after writing its
   * manifest: such a repair may have changed part of the log, so it counts
   * as made). Null when the manifest is unreadable.
   */
  nextSequence: number | null;
  /**
   * True when the repair needed the operator's `floor`: no frame of the
   * log's last segment read, so nothing showed how far the log had gone,
   * and `nextSequence` (the floor, or where the readable segments end if
   * that is higher) may be below sequences the log once issued. Otherwise
   * `nextSequence` is above every sequence the log held. Null when the
   * manifest is unreadable.
   */
  fromFloor: boolean | null;
  /** Why `logId`, `nextSequence` and `fromFloor` are null (what was expected, what the manifest held); null when it reads. */
  unreadable: string | null;
}

/**
 * The repairs the log in `dir` has had, in incident order: one per
 * `quarantine/<n>/` folder that holds a manifest. A folder without one is
 * a repair that died before it changed the log (the manifest is written
 * durably before anything in the log changes), and is left out. A missing
 * directory or quarantine folder has none.
 *
 * What a checkpoint needs from them (`replay` in @wal/memtable checks it):
 * a repair from a floor (`fromFloor`) that continued the log at or below a
 * checkpoint's `lastSequence` made the writer issue those sequences again,
 * and a replay from that checkpoint would skip them. The folders are the
 * log's record of its repairs: keep them. Without its folder, a repair is
 * known only by the holes it wrote, and once those are gone too its number
 * may be used again.
 *
 * Rejects with `WAL_INVALID_ARGUMENT` for a bad `dir`, `WAL_INVALID_OPTIONS`
 * for bad options (both before any I/O), and `WAL_IO_ERROR` when a folder
 * or manifest cannot be read.
 */
export async function listIncidents(dir: string, options?: CommonOptions): Promise<Incident[]> {
  const quarantine = path.join(path.resolve(checkPath(dir, 'dir')), QUARANTINE_DIR);
  const { fs } = parseIncidentsOptions(options);
  const numbers = await incidentNumbers(fs, quarantine);
  const incidents: Incident[] = [];
  for (const incident of numbers) {
    const incidentDir = path.join(quarantine, String(incident));
    const file = path.join(incidentDir, MANIFEST_FILE);
    let bytes: Uint8Array;
    try {
      bytes = await readWhole(fs, file);
    } catch (error) {
      if (errnoOf(error) === 'ENOENT') continue;
      throw error;
    }
    incidents.push({ incident, incidentDir, ...readManifest(bytes, incident) });
  }
  return incidents;
}

type ManifestFacts = Pick<Incident, 'logId' | 'nextSequence' | 'fromFloor' | 'unreadable'>;

function readManifest(bytes: Uint8Array, incident: number): ManifestFacts {
  let manifest: unknown;
  try {
    manifest = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (error) {
    return unreadable(`expected JSON, found ${(error as Error).message}`);
  }
  if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest))
    return unreadable(`expected an object, found ${describeValue(manifest)}`);
  const fields = manifest as Record<string, unknown>;
  const { logId, nextSequence, fromFloor, incident: stated } = fields;
  if (typeof logId !== 'string' || !/^[0-9a-f]{16}$/.test(logId))
    return unreadable(
      `expected logId to be a log id (16 hex digits), found ${describeValue(logId)}`,
    );
  if (!isIndex(nextSequence))
    return unreadable(
      `expected nextSequence to be a sequence, found ${describeValue(nextSequence)}`,
    );
  if (typeof fromFloor !== 'boolean')
    return unreadable(`expected fromFloor to be a boolean, found ${describeValue(fromFloor)}`);
  if (stated !== incident)
    return unreadable(
      `expected incident to be its folder's ${incident}, found ${describeValue(stated)}`,
    );
  return { logId, nextSequence, fromFloor, unreadable: null };
}

const unreadable = (found: string): ManifestFacts => ({
  logId: null,
  nextSequence: null,
  fromFloor: null,
  unreadable: found,
});
