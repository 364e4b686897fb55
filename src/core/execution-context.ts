import type { CgiExecutionContext } from '../types.js';

/**
 * The context handed to the app as its third argument: `waitUntil` collects promises that the
 * process waits for after the response has been sent (Workers and Hono's
 * `c.executionCtx.waitUntil`); a rejection is logged, never sent to the client.
 */
export function executionContext(tasks: Promise<unknown>[], log: (text: string) => void): CgiExecutionContext {
  return {
    waitUntil(promise) {
      tasks.push(
        Promise.resolve(promise).catch((error: unknown) => {
          log(`fetch-cgi: waitUntil work failed\n${error instanceof Error ? error.stack : String(error)}`);
        }),
      );
    },
    passThroughOnException() {},
    props: {},
  };
}

/**
 * Waits for every waitUntil promise, including ones added while waiting, at most `timeout` ms
 * in all; logs what was left unfinished.
 */
export async function settleBackgroundWork(
  tasks: Promise<unknown>[],
  timeout: number,
  log: (text: string) => void,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<'expired'>((resolve) => {
    timer = setTimeout(() => resolve('expired'), timeout);
  });
  try {
    for (let settled = 0; settled < tasks.length;) {
      const batch = tasks.slice(settled);
      settled = tasks.length;
      if ((await Promise.race([Promise.all(batch), expired])) === 'expired') {
        log(`fetch-cgi: waitUntil work still running after ${timeout} ms; exiting without it`);
        return;
      }
    }
  } finally {
    clearTimeout(timer);
  }
}
