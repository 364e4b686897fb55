import { byName, TOKEN } from '../http/syntax.js';
import { quote } from '../http/quote.js';

// A header value once leading and trailing HTTP whitespace is gone (fetch.spec.whatwg.org).
const VALUE = /^[^\0\r\n]*$/;
const BYTE_STRING = /^[\0-\xff]*$/;
const HTTP_WHITESPACE = /^[\t\n\r ]+|[\t\n\r ]+$/g;

/** Header fields as the `Headers` class would list them, plus the Set-Cookie values apart. */
export interface HeaderFields {
  fields: [string, string][];
  cookies: string[];
}

/**
 * Normalises any `HeadersInit` (a Headers, an array of pairs, a record) the way the `Headers`
 * class does, without loading it: names lower-cased and sorted, values trimmed, repeated names
 * joined with ", ", Set-Cookie kept apart. Throws the `TypeError` the class would throw for an
 * invalid name or value. `defaultType` is added as Content-Type when none is given.
 */
export function normalizeHeaderFields(init: HeadersInit | undefined, defaultType?: string): HeaderFields {
  // A plain list, not a Map: a response has a few fields, and this runs for every response.
  const fields: [string, string][] = [];
  const cookies: string[] = [];
  for (const [rawName, rawValue] of headerPairs(init)) {
    const name = String(rawName).toLowerCase();
    const value = String(rawValue).replace(HTTP_WHITESPACE, '');
    if (!TOKEN.test(name)) throw new TypeError(`Headers: invalid header name ${quote(String(rawName))}`);
    if (!VALUE.test(value) || !BYTE_STRING.test(value)) {
      throw new TypeError(`Headers: invalid value for header ${quote(name)}`);
    }
    if (name === 'set-cookie') {
      cookies.push(value);
      continue;
    }
    const same = indexOfName(fields, name);
    if (same === -1) fields.push([name, value]);
    else (fields[same] as [string, string])[1] += `, ${value}`;
  }
  if (defaultType !== undefined && indexOfName(fields, 'content-type') === -1) {
    fields.push(['content-type', defaultType]);
  }
  // oxlint-disable-next-line unicorn/no-array-sort -- the list was made here
  return { fields: fields.sort(byName), cookies };
}

function indexOfName(fields: [string, string][], name: string): number {
  for (let index = 0; index < fields.length; index++) if ((fields[index] as [string, string])[0] === name) return index;
  return -1;
}

function headerPairs(init: HeadersInit | undefined): Iterable<[unknown, unknown]> {
  if (init === undefined || init === null) return [];
  if (typeof (init as Headers).getSetCookie === 'function') {
    const headers = init as Headers;
    const pairs: [string, string][] = [];
    headers.forEach((value, name) => {
      if (name !== 'set-cookie') pairs.push([name, value]);
    });
    for (const cookie of headers.getSetCookie()) pairs.push(['set-cookie', cookie]);
    return pairs;
  }
  if (Symbol.iterator in Object(init)) {
    return [...(init as Iterable<unknown[]>)].map((pair) => {
      if (pair.length !== 2) throw new TypeError('Headers: each header pair must be a name and a value');
      return [pair[0], pair[1]];
    });
  }
  return Object.entries(init as Record<string, string>);
}
