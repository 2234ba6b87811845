// pnpm api:update: writes packages/<pkg>/api.md, the public surface of each
// package as its built .d.ts declares it, per entry point (like API
// Extractor's .api.md). TypeScript 7 ships no compiler API, so this reads the
// .d.ts text tsc emits: top-level statements split on brackets, strings and
// comments, then followed through imports and re-exports to the declaration
// of each exported name. Comments are left out, so editing TSDoc does not
// change a report; any change to a signature does.
//
// `node scripts/api-report.mjs --check` (run by `pnpm lint:packages`) exits 1
// when a report differs from what the built .d.ts gives. Builds first
// (turbo: a no-op when dist/ is up to date).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build, publicPackages, root } from './lib/packages.mjs';

export const REPORT_FILE = 'api.md';

const IDENT = /[A-Za-z_$][\w$]*/g;
const HEAD =
  /^(export\s+)?(?:default\s+)?(?:declare\s+)?(?:abstract\s+)?(?:async\s+)?(function|class|interface|type|const|let|var|enum|namespace|module)\s+([A-Za-z_$][\w$]*)/;
const BLOCK_HEAD =
  /^(?:export\s+)?(?:declare\s+)?(?:abstract\s+)?(?:class|interface|enum|namespace|module)\b/;

/**
 * The top-level statements of a .d.ts, comments removed, each trimmed of
 * blank lines. A statement ends at a `;` outside brackets, or at the `}`
 * closing a class, interface, enum or namespace body.
 */
export function splitStatements(text) {
  const statements = [];
  let current = '';
  let depth = 0;
  const end = () => {
    const statement = tidy(current).trim();
    if (statement) statements.push(statement);
    current = '';
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    const next = text[i + 1];
    if (c === '/' && next === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      current += '\n';
      continue;
    }
    if (c === '/' && next === '*') {
      const close = text.indexOf('*/', i + 2);
      i = close === -1 ? text.length : close + 1;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      while (j < text.length && text[j] !== c) j += text[j] === '\\' ? 2 : 1;
      current += text.slice(i, j + 1);
      i = j;
      continue;
    }
    current += c;
    if (c === '{' || c === '(' || c === '[') depth++;
    else if (c === '}' || c === ')' || c === ']') {
      depth--;
      if (depth === 0 && c === '}' && BLOCK_HEAD.test(current.trim())) end();
    } else if (c === ';' && depth === 0) end();
  }
  end();
  return statements;
}

/**
 * Drops blank lines, and rejoins the lines tsc broke around a comment in a
 * union (`= /** a *\/ {` and `} /** b *\/ | {` come out as `= {`, `} | {`).
 */
function tidy(text) {
  const lines = [];
  // A comment cut from inside a line leaves two spaces where there was one.
  for (const line of text.split('\n').map((l) => l.trimEnd().replace(/(\S) {2,}/g, '$1 '))) {
    const last = lines.length - 1;
    if (line.trim() === '') continue;
    if (last >= 0 && line.trim() === '{' && /[=|]$/.test(lines[last])) lines[last] += ' {';
    else if (last >= 0 && /^\s*\| /.test(line) && lines[last].trim() === '}') {
      lines[last] += ` ${line.trim()}`;
    } else lines.push(line);
  }
  return lines.join('\n');
}

/** `a, type b as c` → [{ name: 'a', as: 'a', typeOnly }, { name: 'b', as: 'c', typeOnly: true }]. */
function specifiers(list, allTypeOnly) {
  return list
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)
    .map((item) => {
      const typeOnly = allTypeOnly || /^type\s/.test(item);
      const [name, as = name] = item.replace(/^type\s+/, '').split(/\s+as\s+/);
      return { name, as, typeOnly };
    });
}

/**
 * @typedef {{ external?: string, file?: string, name: string }} Target
 *   A declaration (`file`, `name`) or another package's export (`external`).
 * @typedef {{ name?: string, as?: string, from?: string, typeOnly?: boolean,
 *   star?: boolean, local?: boolean }} ExportStatement
 * @typedef {{
 *   file: string,
 *   declarations: Map<string, string[]>,
 *   imports: Map<string, { from: string, name: string }>,
 *   exports: ExportStatement[],
 *   exportMap?: Map<string, { target: Target, typeOnly: boolean }>,
 * }} ParsedModule
 */

/** @type {Map<string, ParsedModule>} */
const modules = new Map();

/**
 * One parsed .d.ts: its declarations, imports and export statements.
 * @param {string} file
 * @returns {ParsedModule}
 */
function parseModule(file) {
  const cached = modules.get(file);
  if (cached) return cached;
  /** @type {ParsedModule} */
  const parsed = { file, declarations: new Map(), imports: new Map(), exports: [] };
  modules.set(file, parsed);
  for (const statement of splitStatements(readFileSync(file, 'utf8'))) {
    const flat = statement.replace(/\s+/g, ' ');
    let m = flat.match(/^import (type )?(.*) from ['"]([^'"]+)['"];$/);
    if (m) {
      const [, typeOnly, clause, from] = m;
      const named = clause.match(/\{(.*)\}/);
      if (named) {
        for (const s of specifiers(named[1], Boolean(typeOnly))) {
          parsed.imports.set(s.as, { from, name: s.name });
        }
      }
      const namespace = clause.match(/\* as ([\w$]+)/);
      if (namespace) parsed.imports.set(namespace[1], { from, name: '*' });
      const fallback = clause.match(/^([\w$]+)\s*(,|$)/);
      if (fallback) parsed.imports.set(fallback[1], { from, name: 'default' });
      continue;
    }
    m = flat.match(/^export \* (?:as ([\w$]+) )?from ['"]([^'"]+)['"];$/);
    if (m) {
      parsed.exports.push({ star: true, as: m[1], from: m[2] });
      continue;
    }
    m = flat.match(/^export (type )?\{(.*)\}(?: from ['"]([^'"]+)['"])?;$/);
    if (m) {
      for (const s of specifiers(m[2], Boolean(m[1]))) parsed.exports.push({ ...s, from: m[3] });
      continue;
    }
    m = statement.match(HEAD);
    if (m) {
      const [, exported, , name] = m;
      const list = parsed.declarations.get(name) ?? [];
      list.push(statement);
      parsed.declarations.set(name, list);
      if (exported) parsed.exports.push({ name, as: name, typeOnly: false, local: true });
    }
  }
  return parsed;
}

function resolveModule(from, specifier) {
  if (!specifier.startsWith('.')) return null; // another package
  const target = path.resolve(path.dirname(from), specifier).replace(/\.js$/, '');
  for (const candidate of [`${target}.d.ts`, path.join(target, 'index.d.ts')]) {
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(`${path.relative(root, from)}: cannot find the module ${specifier}`);
}

/**
 * What `name`, as seen from module `file` (declared there or imported),
 * refers to: `{ file, name }` for a declaration, `{ external, name }` for
 * another package's export, or null.
 */
function resolveLocal(file, name) {
  const parsed = parseModule(file);
  if (parsed.declarations.has(name)) return { file, name };
  const imported = parsed.imports.get(name);
  if (!imported) return null;
  const target = resolveModule(file, imported.from);
  if (target === null) return { external: imported.from, name: imported.name };
  return exportsOf(target).get(imported.name)?.target ?? null;
}

/** A module's exports: exported name → { target, typeOnly }. */
function exportsOf(file) {
  const parsed = parseModule(file);
  if (parsed.exportMap) return parsed.exportMap;
  const map = new Map();
  parsed.exportMap = map;
  for (const entry of parsed.exports) {
    if (entry.star) {
      const target = resolveModule(file, entry.from);
      if (target === null || entry.as) {
        const external = target === null ? entry.from : path.relative(root, target);
        map.set(entry.as ?? `* from ${entry.from}`, {
          target: { external, name: '*' },
          typeOnly: false,
        });
        continue;
      }
      for (const [name, value] of exportsOf(target)) if (name !== 'default') map.set(name, value);
      continue;
    }
    let target;
    let typeOnly = entry.typeOnly;
    const module = entry.from === undefined ? undefined : resolveModule(file, entry.from);
    if (entry.from === undefined) target = resolveLocal(file, entry.name);
    else if (module === null) target = { external: entry.from, name: entry.name };
    else {
      const record = exportsOf(module).get(entry.name);
      target = record?.target ?? null;
      typeOnly ||= record?.typeOnly ?? false;
    }
    if (target === null) {
      throw new Error(`${path.relative(root, file)}: cannot resolve the export ${entry.name}`);
    }
    map.set(entry.as, { target, typeOnly });
  }
  return map;
}

/**
 * The statements declaring a target (several for overloads).
 * @param {Target} target
 * @returns {string[]}
 */
function declarationsOf(target) {
  const found = target.file && parseModule(target.file).declarations.get(target.name);
  if (!found) throw new Error(`no declaration of ${target.name} in ${target.file}`);
  return found;
}

const key = (target) => `${target.file}#${target.name}`;

/** The identifiers a declaration names, outside string literals. */
function identifiers(statement) {
  return new Set(statement.replace(/(["'`])(?:\\.|(?!\1).)*\1/g, '""').match(IDENT) ?? []);
}

/** A fenced TypeScript block. */
function block(lines) {
  return ['```ts', ...lines, '```'];
}

/** The report of one package: every entry point's exports, then what they use unexported. */
export function report(pkg) {
  const entries = Object.entries(pkg.manifest.exports ?? {}).map(([subpath, conditions]) => ({
    name: path.posix.join(pkg.name, subpath),
    file: path.join(pkg.dir, conditions.types),
  }));
  const exported = new Set();
  for (const entry of entries) {
    for (const { target } of exportsOf(entry.file).values()) {
      if (target.file) exported.add(key(target));
    }
  }
  const lines = [
    `# ${pkg.name}: public API`,
    '',
    'Generated from the built `.d.ts` by `pnpm api:update` (scripts/api-report.mjs); do not edit.',
    '`pnpm lint:packages` fails while this file differs from what the build declares: a change',
    'here is a change to what users of the package see. Comments are left out.',
  ];
  const used = new Map();
  const walk = (target) => {
    for (const statement of declarationsOf(target)) {
      for (const word of identifiers(statement)) {
        if (word === target.name) continue;
        const found = resolveLocal(target.file, word);
        if (!found?.file || exported.has(key(found)) || used.has(key(found))) continue;
        used.set(key(found), found);
        walk(found);
      }
    }
  };
  for (const entry of entries) {
    lines.push('', `## ${entry.name}`, '');
    const exports = [...exportsOf(entry.file)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const body = [];
    const external = [];
    for (const [name, { target, typeOnly }] of exports) {
      if (target.external) {
        const what = target.name === name ? name : `${target.name} as ${name}`;
        external.push(`- \`${what}\`${typeOnly ? ' (type)' : ''} from \`${target.external}\``);
        continue;
      }
      const note = [];
      if (target.name !== name) note.push(`exported as ${name}`);
      const declarations = declarationsOf(target);
      // Interfaces and type aliases are types anyway; say it of a value exported as a type.
      const isValue = !/^(export )?(declare )?(interface|type) /.test(declarations[0] ?? '');
      if (typeOnly && isValue) note.push('exported as a type only');
      if (body.length > 0) body.push('');
      if (note.length > 0) body.push(`// ${note.join(', ')}`);
      body.push(...declarations);
      walk(target);
    }
    if (body.length > 0) lines.push(...block(body));
    if (external.length > 0) {
      lines.push('', 'Re-exported from other packages:', '', ...external);
    }
  }
  if (used.size > 0) {
    lines.push(
      '',
      '## Not exported, used by the API above',
      '',
      'Users can see these types through the API but cannot import them by name.',
      '',
    );
    const body = [];
    const sorted = [...used.values()].sort((a, b) => (key(a) < key(b) ? -1 : 1));
    for (const target of sorted) {
      if (body.length > 0) body.push('');
      body.push(`// ${path.relative(pkg.dir, target.file).split(path.sep).join('/')}`);
      body.push(...declarationsOf(target));
    }
    lines.push(...block(body));
  }
  return `${lines.join('\n')}\n`;
}

/** Every package's report against its committed file: the packages whose report differs. */
export function staleReports() {
  return publicPackages().flatMap((pkg) => {
    const file = path.join(pkg.dir, REPORT_FILE);
    const want = report(pkg);
    const have = existsSync(file) ? readFileSync(file, 'utf8') : null;
    return have === want ? [] : [{ pkg, file, want, have }];
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { check: { type: 'boolean', default: false } } });
  console.log(`pnpm build: ${build()}`);
  const stale = staleReports();
  if (values.check) {
    for (const { pkg, have } of stale) {
      console.log(`${pkg.name}: ${REPORT_FILE} ${have === null ? 'is missing' : 'is out of date'}`);
    }
    if (stale.length > 0) console.log('run `pnpm api:update` and commit the reports');
    process.exitCode = stale.length > 0 ? 1 : 0;
  } else {
    for (const { file, want } of stale) writeFileSync(file, want);
    console.log(
      stale.length === 0
        ? 'api reports: up to date'
        : `api reports: wrote ${stale.map(({ file }) => path.relative(root, file)).join(', ')}`,
    );
  }
}
