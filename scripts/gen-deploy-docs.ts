/**
 * Rewrites the generated configuration blocks in docs/deploy/*.md from
 * tests/servers/configs/, the same functions the server tests run with.
 * Run: node --import tsx scripts/gen-deploy-docs.ts
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { fillDocBlocks } from '../tests/servers/configs/doc-blocks.js';

const dir = fileURLToPath(new URL('../docs/deploy/', import.meta.url));
for (const name of (await readdir(dir)).filter((file) => file.endsWith('.md')).toSorted()) {
  const path = dir + name;
  const before = await readFile(path, 'utf8');
  const after = fillDocBlocks(before);
  if (after !== before) {
    await writeFile(path, after);
    console.log(`updated docs/deploy/${name}`);
  }
}
