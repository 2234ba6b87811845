import { ErrorCode, WalError } from '@wal/codec';
import type { WalFs } from '@wal/fs';
import { type Incident, listIncidents, type RecoveryStats } from '@wal/recovery';

/** What replay knows of the table, for the incident check. */
export interface Checkpoint {
  lastSequence: number | null;
  incident: number | null;
  logId: string | null;
}

/**
 * The log's incidents before replay's scan reads it, so that a repair made
 * while it reads is not taken as one the table saw. An error is held back:
 * the scan's own (a missing or foreign path) says more.
 */
export async function incidentsBefore(
  dir: string,
  fs: WalFs | undefined,
): Promise<() => Incident[]> {
  try {
    const listed = await listIncidents(dir, { fs });
    return () => listed;
  } catch (error) {
    return () => {
      throw error;
    };
  }
}

/**
 * Refuses a checkpoint that a repair made since it may have rewound, and
 * returns the incident the table has seen once the replay is absorbed.
 *
 * Since the checkpoint means above `table.incident`. Such a repair
 * rewound it when it continued the log from a floor at or below
 * `lastSequence`: the writer issued those sequences again, and the log may
 * run past the checkpoint by now, so only the repair's manifest tells. A
 * repair without a floor continues above all the log held, so never at or
 * below a checkpoint of durable entries. An unreadable manifest, and a hole
 * the scan read whose incident has no manifest (the log restored from an
 * archive, or its quarantine deleted), cannot say: they are refused too.
 */
export async function checkIncidents(
  dir: string,
  fs: WalFs | undefined,
  table: Checkpoint,
  before: Incident[],
  stats: RecoveryStats,
): Promise<number | null> {
  const logId = stats.logId ?? table.logId;
  const ofLog = (list: Incident[]) => list.filter((i) => i.logId === null || i.logId === logId);
  const seen = table.incident ?? 0;
  const checkpoint = table.lastSequence;
  const holes = stats.holes.map((h) => h.incident);
  if (checkpoint !== null) {
    const after = ofLog(await listIncidents(dir, { fs }));
    const where = `the log in ${dir} since the table's checkpoint (lastSequence ${checkpoint}, incident ${table.incident})`;
    for (const i of after) {
      if (i.incident <= seen) continue;
      const folder = `quarantine/${i.incident}`;
      if (i.nextSequence === null) {
        throw rewound(
          `expected every repair of ${where} to say where it continued the log, found the manifest of incident ${i.incident} (${folder}) unreadable: ${i.unreadable}`,
        );
      }
      if (i.fromFloor === true && i.nextSequence <= checkpoint) {
        throw rewound(
          `expected every repair of ${where} to continue the log above it, found incident ${i.incident} (${folder}) continuing it from a floor at ${i.nextSequence}: the writer issued sequences ${i.nextSequence} to ${checkpoint} again, and a replay from this checkpoint would skip them; replay into a table without the checkpoint to read the log as it is now`,
        );
      }
    }
    const listed = new Set(after.map((i) => i.incident));
    const unlisted = holes.find((n) => n > seen && !listed.has(n));
    if (unlisted !== undefined) {
      throw rewound(
        `expected every repair of ${where} to have its manifest, found a hole of incident ${unlisted} with no quarantine/${unlisted}/manifest.json (the log restored from an archive, or its quarantine deleted): whether that repair continued the log at or below the checkpoint is unknown; replay into a table without the checkpoint, or pass incident ${unlisted} once you know it did not`,
      );
    }
  }
  const highest = Math.max(seen, ...ofLog(before).map((i) => i.incident), ...holes);
  return highest === 0 ? table.incident : highest;
}

const rewound = (message: string) => new WalError(ErrorCode.SEQUENCE_REWOUND, message);
