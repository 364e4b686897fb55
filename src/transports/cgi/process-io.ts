import type { Stats } from 'node:fs';
import type { CgiOutput } from '../../response/output.js';
import { nodeFs } from '../../runtime/node-fs.js';
import { bunStdout, bunStderrIsOutput } from './bun-stdout.js';
import { hybridStdout, lazyStdout, nativeStdout } from './stdout.js';

/** What serveCgi needs from the process when it runs on the process's own streams. */
export interface ProcessIo {
  /** The HTTP channel: fd 1, bypassing the redirect of stray output. */
  output: CgiOutput;
  /** Called when the server sends SIGTERM before the response is complete. */
  onTerminate(listener: () => void): void;
  /** Marks the response as complete: a later SIGTERM (mod_cgid, lighttpd) is then ignored. */
  responseDone(): void;
  /**
   * Points fds 1 and 2 at /dev/null so the server sees the response end while the process goes
   * on (waitUntil work, dropping an unread body): Apache prefork and fcgiwrap wait for stderr
   * to close too. fd 0 stays open: see {@link ProcessIo.closeInput}.
   */
  detachOutput(): void;
  /**
   * After {@link ProcessIo.detachOutput}: points fd 0 at /dev/null too when it was the same
   * socket as fd 1, as mod_cgid hands it over: the response ends only when both are closed.
   */
  closeInput(): void;
  /** Set when the bridge must wait before the app runs: Bun checks stderr asynchronously. */
  ready?: Promise<void>;
}

/**
 * Takes over the process's stdout for the CGI response. The response goes to fd 1 with
 * blocking writes, so `process.stdout` (and the stream modules behind it, a few ms per start)
 * is never built for it; whatever else asks for `process.stdout` (a stray `console.log`) gets
 * a stream that writes to stderr. SIGTERM after the response no longer kills background work.
 */
export function takeOverProcessIo(): ProcessIo {
  const onBun = 'Bun' in globalThis;
  // mini_httpd makes stderr the same pipe as stdout: diagnostics (and stack traces) would land
  // in the response, so they go nowhere instead.
  let ready: Promise<void> | undefined;
  if (onBun) ready = bunStderrIsOutput().then((same) => (same ? pointAtDevNull(2) : undefined));
  else if (sameFile(2, 1, 0)) pointAtDevNull(2);
  // Bun and Deno build process.stdout eagerly when it is so much as looked at (~10 ms) and
  // write console output natively; there the response uses blocking writes (Bun: Bun.write).
  const nodeStdio = !onBun && !('Deno' in globalThis);
  const stdout = nodeStdio ? lazyStdout() : nativeStdout();
  let done = false;
  let detached = false;
  let inputIsOutput = false;
  let terminate: () => void = noop;
  // Installed at once: without a listener, SIGTERM kills the process, background work too.
  process.on('SIGTERM', () => {
    if (!done) terminate();
  });
  return {
    ...(ready ? { ready } : {}),
    output: onBun ? bunStdout() : hybridStdout(stdout),
    onTerminate(listener) {
      terminate = listener;
    },
    responseDone() {
      done = true;
    },
    detachOutput() {
      // Deno keeps a copy of stdout of its own until it exits (even Deno.stdout.close() leaves
      // it open), so there the response ends with the process; see docs/api.md.
      if (detached || 'Deno' in globalThis) return;
      detached = true;
      inputIsOutput = sameFile(0, 1);
      for (const fd of [1, 2]) pointAtDevNullUnlessTerminal(fd);
    },
    closeInput() {
      if (inputIsOutput) pointAtDevNullUnlessTerminal(0);
      inputIsOutput = false;
    },
  };
}

/** A terminal (or /dev/null already) holds no response open; node:tty would cost a start-up. */
function pointAtDevNullUnlessTerminal(fd: number): void {
  if (!nodeFs().fstatSync(fd).isCharacterDevice()) pointAtDevNull(fd);
}

/**
 * Closes `fd` and opens /dev/null in its place at once, which keeps the number taken: no socket
 * the app opens later can land on it and receive stray output.
 */
function pointAtDevNull(fd: number): void {
  const fs = nodeFs();
  fs.closeSync(fd);
  const reopened = fs.openSync('/dev/null', fd === 0 ? 'r' : 'w');
  if (reopened !== fd) fs.closeSync(reopened);
}

/** Whether `fd` is the same pipe or socket as one of `others` (never a terminal). */
function sameFile(fd: number, ...others: number[]): boolean {
  const first = statOf(fd);
  if (!first || (!first.isSocket() && !first.isFIFO())) return false;
  return others.some((other) => {
    const second = statOf(other);
    return second !== undefined && first.ino === second.ino && first.dev === second.dev;
  });
}

function statOf(fd: number): Stats | undefined {
  try {
    return nodeFs().fstatSync(fd);
  } catch {
    return undefined;
  }
}

function noop(): void {}
