/**
 * The layering of src/ that docs/architecture.md draws, checked on every import: each folder
 * imports only the folders below it, and nothing but the command line imports the command line.
 * (Import cycles are oxlint's `import/no-cycle`, in `npm run lint`.)
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const src = fileURLToPath(new URL('../src/', import.meta.url));

/** What each layer may import besides itself and the shared vocabulary (errors.ts, types.ts). */
const ALLOWED: Record<string, readonly string[]> = {
  http: [],
  runtime: ['http'],
  request: ['http', 'runtime'],
  response: ['http', 'runtime'],
  host: ['http', 'protocols'],
  core: ['request', 'response', 'runtime', 'http'],
  protocols: ['core', 'request', 'response', 'runtime', 'http'],
  transports: ['protocols', 'core', 'request', 'response', 'runtime', 'http'],
  // The public entry points: everything but the command line.
  entry: ['transports', 'protocols', 'core', 'request', 'response', 'host', 'runtime', 'http'],
  vocabulary: ['http'],
  cli: ['entry', 'transports', 'protocols', 'core', 'request', 'response', 'host', 'runtime', 'http'],
};

/** The layer a file of src/ belongs to; each transport and each protocol is a unit of its own. */
function unitOf(file: string): { layer: string; unit: string } {
  const [first = '', second = ''] = file.split('/');
  if (first === 'index.ts' || first === 'hono.ts' || first === 'serve-cgi.ts') return { layer: 'entry', unit: 'entry' };
  if (first === 'errors.ts' || first === 'types.ts') return { layer: 'vocabulary', unit: 'vocabulary' };
  if (first === 'transports' || first === 'protocols') return { layer: first, unit: `${first}/${second}` };
  return { layer: first, unit: first };
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(entry.name) ? [relative(src, path)] : [];
  });
}

/** Every relative import (and re-export, and dynamic import) of `file`, as paths inside src/. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(src, file), 'utf8');
  const specs = text.matchAll(
    /(?:import|export)[^'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g,
  );
  return [...specs].map((match) =>
    relative(src, resolve(src, dirname(file), (match[1] ?? match[2] ?? '').replace(/\.js$/, '.ts'))),
  );
}

const files = sourceFiles(src);

test('the source folders are the layers the architecture names', () => {
  const units = new Set(files.map((file) => unitOf(file).layer));
  assert.deepEqual([...units].toSorted(), Object.keys(ALLOWED).toSorted());
});

test('every import in src/ points down the layers; no transport or protocol imports another', () => {
  const wrong: string[] = [];
  for (const file of files) {
    const from = unitOf(file);
    for (const target of importsOf(file)) {
      const to = unitOf(target);
      const sideways = to.layer === from.layer && to.unit !== from.unit;
      const ok =
        to.unit === from.unit ||
        to.layer === 'vocabulary' ||
        (!sideways && ALLOWED[from.layer]?.includes(to.layer) === true);
      if (!ok) wrong.push(`${file} imports ${target}`);
    }
  }
  assert.deepEqual(wrong, []);
});
