import { execFileSync } from 'node:child_process';
import { startServer } from '../tests/servers/index.js';

/** One script behind Apache. */
export interface ApacheScript {
  /** The file name in cgi-bin/, without `.cgi`. */
  name: string;
  /** What the report calls it. */
  label: string;
  path: string;
  /** Whether it is the fetch-cgi build judged against the hand-written Node CGI. */
  judged?: boolean;
  /** The reference the judged script is compared with. */
  reference?: boolean;
}

/** Requests per second of one script, with keep-alive and with `Connection: close`. */
export interface ApacheResult {
  script: ApacheScript;
  keepAlive: WrkResult;
  close: WrkResult;
}

export interface WrkResult {
  requestsPerSecond: number;
  /** Non-2xx/3xx responses plus socket errors other than the server closing idle connections. */
  errors: number;
}

/** Parses wrk's summary. */
export function parseWrk(output: string): WrkResult {
  const rate = Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1] ?? Number.NaN);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(output)?.[1] ?? 0);
  const socket = /connect (\d+), read \d+, write (\d+), timeout (\d+)/.exec(output);
  const socketErrors = socket ? Number(socket[1]) + Number(socket[2]) + Number(socket[3]) : 0;
  return { requestsPerSecond: rate, errors: non2xx + socketErrors };
}

function wrk(url: string, seconds: number, close: boolean): WrkResult {
  const args = ['-t1', '-c2', `-d${seconds}s`, ...(close ? ['-H', 'Connection: close'] : []), url];
  return parseWrk(execFileSync('wrk', args, { encoding: 'utf8' }));
}

/**
 * Starts Apache (mpm_event + mod_cgid) through the test harness with every script in
 * cgi-bin/, checks each answers `Hello`, then loads each with wrk (1 thread, 2 connections)
 * for `seconds`, first with keep-alive, then with `Connection: close` (Apache stalls ~40 ms
 * on kept-alive CGI responses; see shared/hosts/README.md).
 */
export async function measureApache(scripts: readonly ApacheScript[], seconds: number): Promise<ApacheResult[]> {
  const files = Object.fromEntries(scripts.map((script) => [`${script.name}.cgi`, script.path]));
  const server = await startServer('apache-event', { scripts: files });
  try {
    const urlOf = (script: ApacheScript) => `${server.origin}/cgi-bin/${script.name}.cgi/hello?q=1`;
    for (const script of scripts) {
      const response = await fetch(urlOf(script));
      const body = await response.text();
      if (response.status !== 200 || !body.includes('Hello')) {
        throw new Error(
          `bench: ${script.name} through Apache answered ${response.status} ${body.slice(0, 200)}\n${await server.logs()}`,
        );
      }
    }
    const results: ApacheResult[] = [];
    for (const script of scripts) {
      console.log(`wrk -t1 -c2 -d${seconds}s ${urlOf(script)} (keep-alive, then Connection: close)`);
      const keepAlive = wrk(urlOf(script), seconds, false);
      const close = wrk(urlOf(script), seconds, true);
      results.push({ script, keepAlive, close });
    }
    return results;
  } finally {
    await server.stop();
  }
}
