/**
 * Where a long-lived process listens, as `FETCH_CGI_LISTEN` and `fetch-cgi listen` spell it.
 * Pure: a string in, a listen target out.
 */

/** A socket to listen on: a unix socket path, a TCP host and port, or an inherited descriptor. */
export type ListenTarget =
  | { kind: 'unix'; path: string }
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'fd'; fd: number };

/** The address a listen target was given as, for messages. */
export function describeTarget(target: ListenTarget): string {
  if (target.kind === 'unix') return `unix:${target.path}`;
  if (target.kind === 'fd') return `fd:${target.fd}`;
  return `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
}

/**
 * Parses `unix:/run/app.sock` (or any absolute path), `127.0.0.1:9000`, `[::1]:9000`, a bare
 * port `9000` or `:9000` (loopback: a TCP listener binds 127.0.0.1 unless told otherwise), and
 * `fd:3`. Throws a TypeError that quotes the address and shows the forms.
 */
export function parseListenAddress(address: string): ListenTarget {
  const bad = () =>
    new TypeError(
      `fetch-cgi: cannot listen on ${JSON.stringify(address)}: give unix:/path/to.sock, HOST:PORT (127.0.0.1:9000, [::1]:9000), a port, or fd:N`,
    );
  if (address.startsWith('unix:')) {
    const path = address.slice(5);
    if (!path.startsWith('/')) throw bad();
    return { kind: 'unix', path };
  }
  if (address.startsWith('/')) return { kind: 'unix', path: address };
  const fd = /^fd:(\d+)$/.exec(address);
  if (fd) return { kind: 'fd', fd: Number(fd[1]) };
  const match = /^(?:(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)?:)?(\d{1,5})$/.exec(address);
  if (!match) throw bad();
  const port = Number(match[2]);
  if (port < 1 || port > 65535) throw bad();
  const host = match[1]?.replace(/^\[|\]$/g, '') || '127.0.0.1';
  return { kind: 'tcp', host, port };
}
