/**
 * The URL fast path: a request URL the WHATWG parser would give back unchanged is used as it is
 * (a long-lived process builds one per request); anything else goes through the parser. The
 * two must never differ, whatever the host, port, path and query.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as fc from 'fast-check';
import { normalizeHref } from '../../src/request/request-url.js';

const odd = 'aAzZ09-._~!$&()*+,;=:@%/?#\\ "\'<>`{}|^[]é\x7f\t'.split('');
const hosts = [
  'h',
  'example.com',
  'EXAMPLE.com',
  '127.0.0.1',
  '127.1',
  '0x7f.1',
  '010.0.0.1',
  '256.1.1.1',
  '1.2.3.4.5',
  'xn--',
  'xn--nxasmq6b',
  'a..b',
  'a.',
  '-a',
  'b.1',
];

test('gives back exactly what new URL() does, or throws where it throws', () => {
  const host = fc.oneof(
    fc.constantFrom(...hosts),
    fc.string({ unit: fc.constantFrom(...'ab0129.-x'.split('')), minLength: 1, maxLength: 10 }),
  );
  const port = fc.constantFrom('', ':80', ':443', ':0', ':080', ':8080', ':65535', ':65536', ':99999', ':1');
  const part = fc.string({ unit: fc.constantFrom(...odd), maxLength: 12 });
  fc.assert(
    fc.property(fc.constantFrom('http', 'https'), host, port, part, part, (scheme, name, colonPort, path, query) => {
      const href = `${scheme}://${name}${colonPort}/${path}${query ? `?${query}` : ''}`;
      let expected: string | undefined;
      try {
        expected = new URL(href).href;
      } catch {
        assert.throws(() => normalizeHref(href), TypeError, href);
        return;
      }
      assert.equal(normalizeHref(href), expected, href);
    }),
    { numRuns: 30_000, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31) },
  );
});
