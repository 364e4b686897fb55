import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const cliMain = join(root, 'src/cli/main.ts');
// Absolute, so the CLI can run from any folder.
const tsx = import.meta.resolve('tsx');

/** A fresh folder under the system temporary folder (not under the repository). */
export function tempDir(prefix = 'fetch-cgi-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Writes an executable file. */
export function writeScript(path: string, text: string): string {
  writeFileSync(path, text);
  chmodSync(path, 0o755);
  return path;
}

/** What a web server passes a CGI script for `GET /cgi-bin/app.cgi`, and PATH: nothing of ours. */
export const SERVER_ENV: Readonly<Record<string, string>> = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  GATEWAY_INTERFACE: 'CGI/1.1',
  REQUEST_METHOD: 'GET',
  SERVER_NAME: 'localhost',
  SERVER_PORT: '80',
  SERVER_PROTOCOL: 'HTTP/1.1',
  SCRIPT_NAME: '/cgi-bin/app.cgi',
};

/** An environment without the variables that slow node down or leak into children. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && name !== 'NODE_OPTIONS' && name !== 'NODE_EXTRA_CA_CERTS' && name !== 'NO_COLOR') {
      env[name] = value;
    }
  }
  return { ...env, ...extra };
}

export interface CliResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs the CLI (`node --import tsx src/cli/main.ts ...args`) to completion. */
export function runCli(args: string[], options: { cwd?: string; input?: string } = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', tsx, cliMain, ...args], {
      cwd: options.cwd ?? root,
      env: cleanEnv(),
    });
    const stdout: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout: Buffer.concat(stdout), stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** A running `fetch-cgi serve`. */
export interface Served {
  url: string;
  child: ChildProcess;
  stderr(): string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `fetch-cgi serve ...args --port 0` and waits for its "serving" line. */
export function startServe(args: string[]): Promise<Served> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', tsx, cliMain, 'serve', ...args, '--port', '0'], {
      cwd: root,
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    const exited = new Promise<number | null>((done) => child.on('close', (code) => done(code)));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk;
      const url = /fetch-cgi serving .* at (http:\/\/127\.0\.0\.1:\d+)\//.exec(stderr)?.[1];
      if (url) {
        resolvePromise({
          url,
          child,
          stderr: () => stderr,
          stop: () => {
            child.kill('SIGTERM');
            return exited;
          },
        });
      }
    });
    void exited.then((code) => reject(new Error(`serve exited with ${code} before listening:\n${stderr}`)));
  });
}
