import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as fc from 'fast-check';
import { decodePairs, encodePairs } from '../../../src/protocols/fastcgi/name-value.js';

const decoded = (pairs: [string, string][]) => decodePairs(encodePairs(pairs));

describe('FastCGI name-value pairs', () => {
  const cases: [string, [string, string][]][] = [
    [
      'nginx params',
      [
        ['REQUEST_METHOD', 'GET'],
        ['QUERY_STRING', ''],
        ['HTTP_HOST', '127.0.0.1:8080'],
      ],
    ],
    ['a value of 4-byte length', [['HTTP_COOKIE', 'a'.repeat(300)]]],
    [
      'UTF-8 names and values',
      [
        ['PATH_INFO', '/caf\u00e9/\u2603'],
        ['X_\u00e9', 'ok'],
      ],
    ],
    [
      'values of one length and different bytes',
      [
        ['A', 'GET'],
        ['B', 'PUT'],
        ['C', 'GET'],
      ],
    ],
    ['a value just past the cached length', [['REQUEST_URI', `/${'x'.repeat(64)}`]]],
  ];
  for (const [name, pairs] of cases) {
    test(`round-trips ${name}, and again with every value changed`, () => {
      assert.deepEqual(decoded(pairs), Object.fromEntries(pairs));
      // The second decode may take strings made by the first: it must still read its own bytes.
      const changed = pairs.map(([key, value]): [string, string] => [key, value.replace(/./u, 'Z')]);
      assert.deepEqual(decoded(changed), Object.fromEntries(changed));
      assert.deepEqual(decoded(pairs), Object.fromEntries(pairs));
    });
  }

  test('decodes any pairs exactly, however often names and values repeat', () => {
    const short = fc.oneof(fc.constantFrom('GET', 'PUT', 'ab', 'ba', ''), fc.string({ maxLength: 70 }));
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.tuple(short, short), { maxLength: 8 }), { minLength: 1, maxLength: 6 }),
        (requests) => {
          for (const pairs of requests) {
            const expected: Record<string, string> = {};
            for (const [key, value] of pairs) expected[key] = value;
            assert.deepEqual(decoded(pairs), expected);
          }
        },
      ),
    );
  });

  test('gives every request its own ordinary object once a list of names repeats', () => {
    // From the second time on, the object is cloned from a template of these names.
    const pairs: [string, string][] = Array.from({ length: 24 }, (_, index) => [`NAME_${index}`, `value ${index}`]);
    pairs.push(['NAME_3', 'again']);
    const expected: Record<string, string> = {};
    for (const [key, value] of pairs) expected[key] = value;
    const first = decoded(pairs);
    const second = decoded(pairs);
    const third = decoded(pairs.map(([key, value]): [string, string] => [key, `${value}!`]));
    assert.deepEqual(first, expected);
    assert.deepEqual(second, expected);
    assert.deepEqual(Object.keys(second), Object.keys(expected));
    assert.equal(third.NAME_3, 'again!');
    second.NAME_0 = 'changed';
    delete second.NAME_1;
    assert.deepEqual(decoded(pairs), expected);
    assert.equal(Object.getPrototypeOf(third), Object.prototype);
  });

  test('a name __proto__ sets no prototype, however often it comes', () => {
    const pairs: [string, string][] = [
      ['__proto__', 'x'],
      ['A', 'b'],
    ];
    for (let round = 0; round < 3; round++) {
      const env = decoded(pairs);
      assert.equal(Object.getPrototypeOf(env), Object.prototype);
      assert.deepEqual(Object.keys(env), ['A']);
    }
  });

  test('decodes the same where code cannot be generated (node --disallow-code-generation-from-strings)', () => {
    const module = fileURLToPath(new URL('../../../src/protocols/fastcgi/name-value.ts', import.meta.url));
    const script = `
      const { decodePairs, encodePairs } = await import(${JSON.stringify(module)});
      const pairs = Array.from({ length: 20 }, (_, index) => ['NAME_' + index, 'value ' + index]);
      const objects = [1, 2, 3].map(() => decodePairs(encodePairs(pairs)));
      process.stdout.write(JSON.stringify(objects));`;
    const output = execFileSync(
      process.execPath,
      ['--disallow-code-generation-from-strings', '--import', 'tsx', '--input-type=module', '-e', script],
      { encoding: 'utf8' },
    );
    const expected = Object.fromEntries(Array.from({ length: 20 }, (_, index) => [`NAME_${index}`, `value ${index}`]));
    assert.deepEqual(JSON.parse(output), [expected, expected, expected]);
  });

  test('throws for a pair cut short', () => {
    const bytes = encodePairs([['NAME', 'value']]);
    assert.throws(() => decodePairs(bytes.subarray(0, bytes.length - 1)), /cut short/);
  });
});
