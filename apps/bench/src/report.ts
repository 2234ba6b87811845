import { execFileSync } from 'node:child_process';
import os from 'node:os';
import type { CaseResult } from './harness.js';
import { LOOP_UNITS } from './loop-delay.js';
import type { Need, NeedResult, TargetResult } from './targets.js';

/** A result with the baseline it is compared against in the same run. */
export interface Row extends CaseResult {
  baseline?: string;
}

/** The row's median over its baseline's, in the same unit. */
export function ratioOf(row: Row, rows: Row[]): number | undefined {
  const base = rows.find((r) => r.name === row.baseline && r.unit === row.unit);
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

/** The short unit of a row unit: `loop delay p99 ms` reads `ms`. */
function shortUnit(unit: string): string {
  if (unit.endsWith(' ms')) return 'ms';
  if (unit.endsWith(' MiB')) return 'MiB';
  return unit;
}

function describeNeed(need: Need, unit: string): string {
  switch (need.kind) {
    case 'ratio>=':
      return `>= ${need.value}x${need.label ? ` ${need.label}` : ''}`;
    case '<=row':
      return `<= ${need.label}'s`;
    case 'excess<=':
      return `<= +${need.value} ${unit}`;
    case '<=':
      return `<= ${need.value} ${unit}`;
    case '>=':
      return `>= ${need.value} ${unit}`;
  }
}

function describeResult(need: Need, result: NeedResult, unit: string): string {
  const { got, versus } = result;
  if (got === undefined) return 'n/a';
  switch (need.kind) {
    case 'ratio>=':
      return `${got.toFixed(2)}x${need.label ? ` ${need.label}` : ''}`;
    case 'excess<=':
      return `+${got.toFixed(1)} ${unit}`;
    case '<=row':
      return `${fmt(got)} vs ${fmt(versus ?? Number.NaN)} ${unit}`;
    default:
      return `${fmt(got)} ${unit}`;
  }
}

export function targetTable(targets: TargetResult[]): string {
  const lines = ['| # | target | measured | needed | verdict |', '|---|---|---:|---:|---|'];
  for (const t of targets) {
    const unit = shortUnit(t.measured.unit);
    const got = t.needs.map((n, i) => describeResult(n, t.results[i] as NeedResult, unit));
    const needed = t.needs.map((n) => describeNeed(n, unit));
    lines.push(
      `| ${t.id} | ${t.what} | ${got.join('; ')} | ${needed.join(t.combine === 'any' ? ' or ' : ' and ')} | ${t.pass ? 'PASS' : 'FAIL'} |`,
    );
  }
  return lines.join('\n');
}

const LOOP = Object.values(LOOP_UNITS) as string[];
const CRC_ROW = /^CRC-32 \((\d+) B\): (.*)$/;

/** Rows shown in their own tables rather than in the table of all cases. */
export function inOwnTable(row: Row): boolean {
  return LOOP.includes(row.unit) || CRC_ROW.test(row.name) || row.unit === 'ns/frame';
}

/** Each watched case's throughput beside its event-loop delay. */
export function loopTable(rows: Row[]): string {
  const lines = [
    '| case | ops/s | loop delay p50 ms | p99 ms | max ms |',
    '|---|---:|---:|---:|---:|',
  ];
  for (const r of rows.filter((x) => x.unit === LOOP_UNITS.p99)) {
    const of = (unit: string) => rows.find((x) => x.name === r.name && x.unit === unit)?.median;
    const cell = (n: number | undefined) => (n === undefined ? '' : fmt(n));
    lines.push(
      `| ${r.name} | ${cell(of('ops/s'))} | ${cell(of(LOOP_UNITS.p50))} | ${cell(r.median)} | ${cell(of(LOOP_UNITS.max))} |`,
    );
  }
  return lines.join('\n');
}

/** CRC-32 GB/s, one line per implementation, one column per input size; then the frame checks. */
export function crcTables(rows: Row[]): string {
  const cells = new Map<string, Map<number, number>>();
  for (const r of rows) {
    const m = CRC_ROW.exec(r.name);
    if (!m) continue;
    const impl = m[2] as string;
    if (!cells.has(impl)) cells.set(impl, new Map());
    cells.get(impl)?.set(Number(m[1]), r.median);
  }
  const sizes = [...new Set([...cells.values()].flatMap((m) => [...m.keys()]))];
  const lines = [
    `| GB/s | ${sizes.map((s) => `${s} B`).join(' | ')} |`,
    `|---|${sizes.map(() => '---:').join('|')}|`,
  ];
  for (const [impl, bySize] of cells) {
    lines.push(`| ${impl} | ${sizes.map((s) => bySize.get(s)?.toFixed(2) ?? '').join(' | ')} |`);
  }
  const frames = rows.filter((r) => r.unit === 'ns/frame');
  if (frames.length) {
    lines.push('', '| frame check | ns/frame | min | max |', '|---|---:|---:|---:|');
    for (const r of frames)
      lines.push(`| ${r.name} | ${fmt(r.median)} | ${fmt(r.min)} | ${fmt(r.max)} |`);
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
