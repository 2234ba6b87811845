import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { report, splitStatements } from '../api-report.mjs';

/** A package in a temp dir: its manifest's exports and the given dist/ files. */
function fixture(files: Record<string, string>, exports: Record<string, string>) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-api-report-'));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  const manifest = {
    name: '@x/pkg',
    exports: Object.fromEntries(
      Object.entries(exports).map(([subpath, types]) => [subpath, { types, default: 'x.js' }]),
    ),
  };
  return { name: manifest.name, dir, manifest };
}

const files = {
  'dist/index.d.ts': `import type { Damage } from '@x/other';
export { Thing, type Shape, make as build } from './thing.js';
export * from './more.js';
export type { Damage };
/** Says hello. */
export declare function hello(name: string): string;
export declare function hello(name: string, times: number): string;
`,
  'dist/thing.d.ts': `import { type Options } from './options.js';
export interface Shape { size: number }
/** A thing. */
export declare class Thing {
    #private;
    /** Its name; ends with a brace } in a comment. */
    readonly name: string;
    constructor(options: Options);
}
export declare function make(): Thing;
export declare const label = "a;b{";
`,
  'dist/options.d.ts': `export interface Options {
    mode?: Mode;
}
type Mode = 'a' | 'b';
export {};
`,
  'dist/more.d.ts': 'export type Union = /** first */ { kind: 1 } /** second */ | { kind: 2 };\n',
};

describe('api-report', () => {
  test('splits top-level statements, leaving comments and blank lines out', () => {
    expect(
      splitStatements(`/** doc */
export interface A {
    /** x; not the end } */
    x: 'a;b';
}
export declare const b: { c: number; };
export type C = {
    d: string;
};
`),
    ).toEqual([
      "export interface A {\n    x: 'a;b';\n}",
      'export declare const b: { c: number; };',
      'export type C = {\n    d: string;\n};',
    ]);
  });

  test('follows re-exports, aliases and export * to each declaration; lists what is used but not exported', () => {
    const pkg = fixture(files, { '.': 'dist/index.d.ts' });
    const text = report(pkg);
    expect(text).toContain('## @x/pkg\n');
    expect(text).toContain(
      'export declare function hello(name: string): string;\nexport declare function hello(name: string, times: number): string;',
    );
    expect(text).toContain('// exported as build\nexport declare function make(): Thing;');
    expect(text).toContain('export interface Shape { size: number }');
    expect(text).toContain('export type Union = { kind: 1 } | { kind: 2 };');
    expect(text).toContain('- `Damage` (type) from `@x/other`');
    expect(text).not.toContain('label');
    // Options (the constructor's) and Mode (used by Options) are reachable but not exported.
    const unexported = text.slice(text.indexOf('## Not exported'));
    expect(unexported).toContain('// dist/options.d.ts\nexport interface Options {');
    expect(unexported).toContain("type Mode = 'a' | 'b';");
    expect(text).not.toMatch(/A thing|Says hello|brace/);
  });

  test('a comment changes nothing; a signature change changes the report', () => {
    const before = report(fixture(files, { '.': 'dist/index.d.ts' }));
    const commented = {
      ...files,
      'dist/thing.d.ts': `/** more docs */\n${files['dist/thing.d.ts']}`,
    };
    expect(report(fixture(commented, { '.': 'dist/index.d.ts' }))).toBe(before);
    const changed = {
      ...files,
      'dist/thing.d.ts': files['dist/thing.d.ts'].replace(
        'make(): Thing',
        'make(n: number): Thing',
      ),
    };
    expect(report(fixture(changed, { '.': 'dist/index.d.ts' }))).not.toBe(before);
  });

  test('a class exported as a type only is marked so', () => {
    const typeOnly = {
      ...files,
      'dist/index.d.ts': "export type { Thing } from './thing.js';\n",
    };
    expect(report(fixture(typeOnly, { '.': 'dist/index.d.ts' }))).toContain(
      '// exported as a type only\nexport declare class Thing {',
    );
  });
});
