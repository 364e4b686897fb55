import { readFileSync } from 'node:fs';
import type { CgiEnv } from '../../src/types.js';

const DUMPS = new URL('../fixtures/envdumps/', import.meta.url);

/**
 * The environment a real server gave a CGI script, captured on this kind of machine
 * (`tests/fixtures/envdumps/HOST-CASE.txt`: the request, the response, then `---- env ----`).
 */
export function envDump(name: string): CgiEnv {
  const text = readFileSync(new URL(`${name}.txt`, DUMPS), 'utf8');
  const start = text.indexOf('---- env ----\n');
  if (start === -1) throw new Error(`no environment in envdump ${name}`);
  const env: CgiEnv = {};
  for (const line of text.slice(start + 14).split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return env;
}

/** A valid CGI/1.1 environment for a GET of `/cgi-bin/app.cgi/`, with `overrides` applied. */
export function cgiEnv(overrides: CgiEnv = {}): CgiEnv {
  const env: CgiEnv = {
    GATEWAY_INTERFACE: 'CGI/1.1',
    REQUEST_METHOD: 'GET',
    SCRIPT_NAME: '/cgi-bin/app.cgi',
    PATH_INFO: '/',
    QUERY_STRING: '',
    REQUEST_URI: '/cgi-bin/app.cgi/',
    SERVER_NAME: 'example.com',
    SERVER_PORT: '80',
    SERVER_PROTOCOL: 'HTTP/1.1',
    SERVER_SOFTWARE: 'test',
    REMOTE_ADDR: '192.0.2.1',
    HTTP_HOST: 'example.com',
  };
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}
