/** An HTTP token (RFC 9110 section 5.6.2): what a method or a field name is made of. */
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Fields meaningful only between a client and the server next to it (RFC 9110 section 7.6.1):
 * a CGI script leaves framing to its server, and a host does its own.
 */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * Removes leading and trailing spaces and tabs, HTTP's optional whitespace (RFC 9110 section
 * 5.6.3). Not `String.prototype.trim()`: that also strips 0xA0, a byte of many UTF-8 characters
 * (the tail of "à") in the latin1 strings header values are read as.
 */
export function trimOws(value: string): string {
  return value.replace(/^[\t ]+|[\t ]+$/g, '');
}

/** A header value's bytes (a latin1 string) as the text a process environment carries. */
export function bytesToEnvText(value: string): string {
  return /^[\0-\x7f]*$/.test(value) ? value : Buffer.from(value, 'latin1').toString('utf8');
}

/**
 * Header fields sorted by name, as `Headers` iterates them. A sort of a fresh copy rather than
 * `toSorted()`, which Node 20 lacks while it builds a startup snapshot.
 */
export function sortedByName(fields: Iterable<[string, string]>): [string, string][] {
  // oxlint-disable-next-line unicorn/no-array-sort -- sorts the fresh copy made on this line
  return [...fields].sort(byName);
}

/** Orders fields by name (compared as strings, as `Headers` sorts them). */
export function byName([a]: [string, string], [b]: [string, string]): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
