/**
 * docs/deploy/*.md embed the server configurations the end-to-end tests run with; this
 * checks that each page holds exactly the text tests/servers/configs/ generates today.
 * After changing a config, run: node --import tsx scripts/gen-deploy-docs.ts
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { docBlockNames, docBlocks, fillDocBlocks } from './servers/configs/doc-blocks.js';

const page = (name: string) => readFileSync(new URL(`../docs/deploy/${name}`, import.meta.url), 'utf8');
const pages = [
  'README.md',
  'apache.md',
  'shared-hosting.md',
  'lighttpd.md',
  'nginx-fcgiwrap.md',
  'busybox.md',
  'mini_httpd.md',
  'fastcgi-nginx.md',
  'fastcgi-apache.md',
  'fastcgi-lighttpd.md',
  'many-hosts.md',
];

describe('deploy docs', () => {
  for (const name of pages) {
    it(`${name} holds exactly the generated configuration blocks`, () => {
      const committed = page(name);
      assert.equal(committed, fillDocBlocks(committed), 'run: node --import tsx scripts/gen-deploy-docs.ts');
    });
  }

  for (const [name, block] of Object.entries(docBlocks)) {
    it(`${block.page} embeds the ${name} block`, () => {
      assert.ok(docBlockNames(page(block.page)).includes(name));
    });
  }
});
