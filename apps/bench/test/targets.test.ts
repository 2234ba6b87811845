import { describe, expect, it } from 'vitest';
import type { CaseResult } from '../src/harness.js';
import { checkTargets, type Target, targets } from '../src/targets.js';

const row = (name: string, unit: string, median: number): CaseResult => ({
  name,
  unit,
  median,
  min: median,
  max: median,
  runs: 1,
});
const a = { name: 'a', unit: 'ops/s' };
const b = { name: 'b', unit: 'ops/s' };
const target = (needs: Target['needs'], combine?: Target['combine']): Target => ({
  id: 't',
  what: 't',
  measured: a,
  needs,
  combine,
});
const check = (t: Target, rows: CaseResult[]) => checkTargets(rows, [t])[0];

describe('checkTargets', () => {
  const rows = [row('a', 'ops/s', 300), row('b', 'ops/s', 100), row('a', 'MB/s', 5)];

  it('checks a ratio against the row of the named unit', () => {
    expect(check(target([{ kind: 'ratio>=', of: b, value: 3 }]), rows)).toMatchObject({
      pass: true,
      results: [{ got: 3 }],
    });
    expect(check(target([{ kind: 'ratio>=', of: b, value: 3.01 }]), rows)?.pass).toBe(false);
  });

  it('fails, with nothing measured, when a row is missing', () => {
    const missing = { name: 'b', unit: 'MB/s' };
    expect(check(target([{ kind: 'ratio>=', of: missing, value: 0 }]), rows)).toMatchObject({
      pass: false,
      results: [{ got: undefined }],
    });
    const absent: Target = { ...target([{ kind: '>=', value: 0 }]), measured: missing };
    expect(check(absent, rows)?.pass).toBe(false);
  });

  it('checks an excess, a ceiling, a floor and another row as a ceiling', () => {
    expect(check(target([{ kind: 'excess<=', of: b, value: 200 }]), rows)?.pass).toBe(true);
    expect(check(target([{ kind: 'excess<=', of: b, value: 199 }]), rows)?.pass).toBe(false);
    expect(check(target([{ kind: '<=', value: 300 }]), rows)?.pass).toBe(true);
    expect(check(target([{ kind: '<=', value: 299 }]), rows)?.pass).toBe(false);
    expect(check(target([{ kind: '>=', value: 301 }]), rows)?.pass).toBe(false);
    expect(check(target([{ kind: '<=row', of: b, label: 'b' }]), rows)).toMatchObject({
      pass: false,
      results: [{ got: 300, versus: 100 }],
    });
  });

  it('needs every condition, or one with combine any', () => {
    const needs: Target['needs'] = [
      { kind: '<=', value: 1000 },
      { kind: '>=', value: 1000 },
    ];
    expect(check(target(needs), rows)?.pass).toBe(false);
    expect(check(target(needs, 'any'), rows)?.pass).toBe(true);
  });
});

describe('targets', () => {
  const list = targets(1_000_000, { small: 'S', large: 'L', big: 'B' });

  it('keeps the bars the issues set', () => {
    const bar = (id: string) =>
      list
        .filter((t) => t.id === id)
        .flatMap((t) => t.needs.map((n) => ('value' in n ? n.value : n.kind)));
    expect(bar('1')).toEqual([60]);
    expect(bar('2a')).toEqual([1.5]);
    expect(bar('2b')).toEqual([5]);
    expect(bar('3')).toEqual([0.9]);
    expect(bar('3a')).toEqual([0.95]);
    expect(bar('3b')).toEqual([5]);
    expect(bar('4')).toEqual([3]);
    expect(bar('5a')).toEqual([2]);
    expect(bar("5a'")).toEqual([1000, 0.6]);
    expect(bar('5b')).toEqual([64, 64]);
    expect(bar('6')).toEqual([0.7]);
    expect(bar('7c')).toEqual([1.5]);
    expect(bar('8')).toEqual(['<=row', 2]);
    expect(bar('9')).toEqual([1]);
  });

  it('reads 5b on both logs and 5a on the 100 B one', () => {
    expect(list.filter((t) => t.id === '5b').map((t) => t.measured.name)).toEqual([
      'recovery: scanLog, batches() (S)',
      'recovery: scanLog, batches() (B)',
    ]);
    expect(list.find((t) => t.id === '5a')?.measured).toEqual({
      name: 'recovery: scanLog, batches() (S)',
      unit: 'MB/s',
    });
  });
});
