/**
 * Hono helpers, as the `fetch-cgi/hono` subpath. Hono stays an optional peer: this module
 * imports only its types, and the core package never imports this module.
 */
import type { Context } from 'hono';
import type { ConnInfo } from 'hono/conninfo';
import type { CgiEnv } from './types.js';

/**
 * The bindings a Hono app gets under fetch-cgi: the CGI meta-variables, so
 * `new Hono<{ Bindings: CgiBindings }>()` types `c.env.REMOTE_ADDR`, `c.env.FETCH_CGI_BASE`, ...
 */
export type CgiBindings = CgiEnv;

/**
 * The client's address and port from `REMOTE_ADDR` and `REMOTE_PORT` (RFC 3875 section 4.1.8;
 * REMOTE_PORT is not in the RFC but every common server sets it), in Hono's `ConnInfo` shape,
 * like the `getConnInfo` of Hono's own adapters. Read from `c.env`, as serveCgi passes the
 * meta-variables there; a missing or empty variable leaves its field out.
 *
 * @example
 * import { Hono } from 'hono';
 * import { getConnInfo, type CgiBindings } from 'fetch-cgi/hono';
 * const app = new Hono<{ Bindings: CgiBindings }>();
 * app.get('/ip', (c) => c.text(getConnInfo(c).remote.address ?? 'unknown'));
 * export default app;
 */
export function getConnInfo(c: Context): ConnInfo {
  const env = (c.env ?? {}) as CgiEnv;
  const address = env.REMOTE_ADDR || undefined;
  const port = Number(env.REMOTE_PORT);
  return {
    remote: {
      transport: 'tcp',
      ...(address === undefined ? {} : { address, addressType: addressTypeOf(address) }),
      ...(env.REMOTE_PORT && Number.isInteger(port) && port >= 0 && port <= 65_535 ? { port } : {}),
    },
  };
}

/** `IPv6` for an address with a colon, `IPv4` for a dotted quad, else undefined (a host name). */
function addressTypeOf(address: string): 'IPv4' | 'IPv6' | undefined {
  if (address.includes(':')) return 'IPv6';
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(address) ? 'IPv4' : undefined;
}
