import { execFileSync } from 'node:child_process';
import os from 'node:os';
import type { CaseResult } from './harness.js';
import type { TargetResult } from './targets.js';

/** A result with the baseline it is compared against in the same run. */
export interface Row extends CaseResult {
  baseline?: string;
}

export function ratioOf(row: Row, rows: Row[]): number | undefined {
  const base = rows.find((r) => r.name === row.baseline);
  return base?.median ? row.median / base.median : undefined;
}

function fmt(n: number): string {
  if (n >= 100) return Math.round(n).toLocaleString('en-US');
  return n.toFixed(n >= 10 ? 1 : 2);
}

/** The results as a Markdown table (also readable as plain text). */
export function table(rows: Row[]): string {
  const lines = [
    '| case | unit | median | min | max | runs | ratio | baseline |',
    '|---|---|---:|---:|---:|---:|---:|---|',
  ];
  for (const r of rows) {
    const ratio = ratioOf(r, rows);
    lines.push(
      `| ${r.name} | ${r.unit} | ${fmt(r.median)} | ${fmt(r.min)} | ${fmt(r.max)} | ${r.runs} | ${
        ratio === undefined ? '' : `${ratio.toFixed(2)}x`
      } | ${r.baseline ?? ''} |`,
    );
  }
  return lines.join('\n');
}

export function targetTable(targets: TargetResult[]): string {
  const lines = ['| # | target | measured | needed | verdict |', '|---|---|---:|---:|---|'];
  for (const t of targets) {
    const excess = t.maxExcess !== undefined;
    const got =
      t.ratio === undefined ? 'n/a' : excess ? `+${t.ratio.toFixed(1)}` : `${t.ratio.toFixed(2)}x`;
    const needed = excess ? `<= +${t.maxExcess}` : `>= ${t.min}x`;
    lines.push(`| ${t.id} | ${t.what} | ${got} | ${needed} | ${t.pass ? 'PASS' : 'FAIL'} |`);
  }
  return lines.join('\n');
}

/** CPU, cores, file system of the temp dir, Node version. */
export function machineFacts(tmp: string): string[] {
  let filesystem = 'unknown';
  try {
    filesystem = execFileSync('stat', ['-f', '-c', '%T', tmp], { encoding: 'utf8' }).trim();
    // statfs cannot tell ext4 from ext2/3: they share a magic number.
    if (filesystem === 'ext2/ext3') filesystem = 'ext2/ext3/ext4';
  } catch {
    // Not Linux: leave it unknown.
  }
  return [
    `CPU: ${os.cpus()[0]?.model ?? 'unknown'}`,
    `cores: ${os.cpus().length}`,
    `memory: ${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    `file system (${tmp}): ${filesystem}`,
    `Node: ${process.version}`,
    `OS: ${os.type()} ${os.release()}`,
  ];
}

/** A horizontal bar chart of ops/s, as a standalone SVG. */
export function barChart(title: string, rows: Row[]): string {
  const width = 900;
  const label = 430;
  const barH = 18;
  const gap = 6;
  const top = 40;
  const max = Math.max(...rows.map((r) => r.median), 1);
  const height = top + rows.length * (barH + gap) + 20;
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const bars = rows.map((r, i) => {
    const y = top + i * (barH + gap);
    const w = Math.max(1, ((width - label - 110) * r.median) / max);
    const colour = r.name.startsWith('@wal') ? '#2f6fde' : '#9aa5b1';
    return [
      `<text x="${label - 8}" y="${y + 13}" text-anchor="end">${esc(r.name)}</text>`,
      `<rect x="${label}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${colour}"/>`,
      `<text x="${(label + w + 6).toFixed(1)}" y="${y + 13}">${fmt(r.median)}</text>`,
    ].join('');
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12" role="img">`,
    `<title>${esc(title)}</title>`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="22" font-size="15" font-weight="bold">${esc(title)}</text>`,
    ...bars,
    '</svg>',
    '',
  ].join('\n');
}
