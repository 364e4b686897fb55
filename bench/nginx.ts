import { execFileSync } from 'node:child_process';
import { type BackendKind, type RunningServer, startBackend, startServer } from '../tests/servers/index.js';
import { parseWrk, type WrkResult } from './apache.js';

/** How one set-up behind nginx did at each concurrency. */
export interface NginxResult {
  label: string;
  /** wrk's result by number of connections. */
  byConcurrency: Map<number, WrkResult>;
}

/** The set-ups measured: the script as CGI through fcgiwrap, then as a long-lived process. */
const SETUPS: { label: string; kind: 'cgi' | BackendKind; path: string }[] = [
  { label: 'CGI (nginx + fcgiwrap)', kind: 'cgi', path: '/cgi-bin/app.cgi/hello' },
  { label: 'FastCGI (fastcgi_pass, a connection per request)', kind: 'nginx-fastcgi', path: '/app/hello' },
  { label: 'FastCGI (fastcgi_keep_conn, kept-alive pool)', kind: 'nginx-fastcgi-keepconn', path: '/app/hello' },
  { label: 'SCGI (scgi_pass)', kind: 'nginx-scgi', path: '/app/hello' },
];

/**
 * The same built script (Hono hello) through nginx, as CGI and as FastCGI and SCGI, loaded
 * with wrk (1 thread, keep-alive) at each concurrency for `seconds`: what a process per
 * request costs against one process for all.
 */
export async function measureNginx(
  script: string,
  concurrencies: readonly number[],
  seconds: number,
): Promise<NginxResult[]> {
  const results: NginxResult[] = [];
  for (const setup of SETUPS) {
    const server: RunningServer =
      setup.kind === 'cgi'
        ? await startServer('nginx', { scripts: { 'app.cgi': script } })
        : await startBackend(setup.kind, { script });
    try {
      const url = `${server.origin}${setup.path}`;
      const check = await fetch(url);
      const body = await check.text();
      if (check.status !== 200 || body !== 'Hello')
        throw new Error(`bench: ${setup.label} answered ${check.status} ${body.slice(0, 200)}`);
      const byConcurrency = new Map<number, WrkResult>();
      for (const connections of concurrencies) {
        console.log(`wrk -t1 -c${connections} -d${seconds}s ${url} (${setup.label})`);
        byConcurrency.set(
          connections,
          parseWrk(execFileSync('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, url], { encoding: 'utf8' })),
        );
      }
      results.push({ label: setup.label, byConcurrency });
    } finally {
      await server.stop();
    }
  }
  return results;
}
