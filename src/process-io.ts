import { closeSync, openSync } from 'node:fs';
import type { CgiOutput } from './write-response.js';

/** What serveCgi needs from the process when it runs on the process's own streams. */
export interface ProcessIo {
  /** The HTTP channel: writes that bypass the redirect of stray output. */
  output: CgiOutput;
  /** Called when the server sends SIGTERM before the response is complete. */
  onTerminate(listener: () => void): void;
  /** Marks the response as complete: a later SIGTERM (mod_cgid, lighttpd) is then ignored. */
  responseDone(): void;
  /**
   * Points fds 1 and 2 at /dev/null so the server sees the response end while background work
   * goes on: Apache prefork and fcgiwrap wait for stderr to close too.
   */
  detach(): void;
}

/**
 * Takes over the process's stdout for the CGI response: anything else written to it (a stray
 * `console.log`) goes to stderr instead, and SIGTERM after the response no longer kills
 * background work.
 */
export function takeOverProcessIo(): ProcessIo {
  const { stdout, stderr } = process;
  const protocolWrite = stdout.write as (
    chunk: Uint8Array | string,
    callback?: (error?: Error | null) => void,
  ) => boolean;
  stdout.write = ((...args: Parameters<typeof stderr.write>) => stderr.write(...args)) as typeof stdout.write;

  let done = false;
  let terminate: () => void = noop;
  // Installed at once: without a listener, SIGTERM kills the process, background work too.
  process.on('SIGTERM', () => {
    if (!done) terminate();
  });

  return {
    output: {
      write: (chunk, callback) => protocolWrite.call(stdout, chunk, callback),
      end: (callback) => stdout.end(callback),
      on: (event, listener) => stdout.on(event, listener),
      once: (event, listener) => stdout.once(event, listener),
      removeListener: (event, listener) => stdout.removeListener(event, listener),
    },
    onTerminate(listener) {
      terminate = listener;
    },
    responseDone() {
      done = true;
    },
    detach() {
      for (const fd of [1, 2]) {
        if (fd === 1 ? stdout.isTTY : stderr.isTTY) continue;
        // Closing and reopening at once keeps the fd number taken, so no socket the app opens
        // later can land on it and receive stray output.
        closeSync(fd);
        const reopened = openSync('/dev/null', 'w');
        if (reopened !== fd) closeSync(reopened);
      }
    },
  };
}
function noop(): void {}
