import path from 'node:path';
import type { Damage } from '@wal/recovery';
import type { Output } from './output.js';

/**
 * `damaged wal_00000001.log offset 94 bytes 48 checksum-mismatch: <detail>`,
 * or `torn tail …` for a torn write: one line per region, as verify and
 * `dump --frames` print them. `tornStyle` colours a torn tail by whether
 * the mode accepts it.
 */
export function damageText(
  out: Output,
  damage: Damage,
  torn: boolean,
  tornStyle: 'yellow' | 'red' = 'yellow',
): string {
  const label = torn ? out.style(tornStyle, 'torn tail') : out.style('red', 'damaged');
  const { file, offset, bytes, reason, detail } = damage;
  return `${label} ${path.basename(file)} offset ${offset} bytes ${bytes} ${reason}: ${detail}`;
}

/**
 * The damage a scan met besides its torn tail. `skip-corrupted` lists the
 * tail among it too, as one region per torn write when it reads on past
 * them: every region from where the tail starts to the end of its file is
 * part of it (the writer cuts all of that), never damage.
 */
export function withoutTornTail(damage: Damage[], tornTail: Damage | null): Damage[] {
  if (!tornTail) return damage;
  return damage.filter((d) => !(d.file === tornTail.file && d.offset >= tornTail.offset));
}
