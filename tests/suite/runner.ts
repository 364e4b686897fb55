/**
 * How the shared suite's cases are run on a transport: which apply, how many at once, and how
 * long one may take. Used by every file that runs tests/suite/cases.ts.
 */
import type { Case } from './cases.js';
import type { Transport } from './transports.js';

/**
 * Runs at most `limit` light cases at once, and each heavy (100 MiB) case alone, so the timing
 * cases are not starved on a 2-core machine.
 */
export class Gate {
  #active = 0;
  #exclusive = false;
  readonly #queue: { heavy: boolean; go: () => void }[] = [];
  constructor(readonly limit: number) {}

  async run<T>(heavy: boolean, work: () => Promise<T>): Promise<T> {
    await new Promise<void>((go) => {
      this.#queue.push({ heavy, go });
      this.#pump();
    });
    try {
      return await work();
    } finally {
      if (heavy) this.#exclusive = false;
      else this.#active--;
      this.#pump();
    }
  }

  #pump(): void {
    for (let next = this.#queue[0]; next && !this.#exclusive; next = this.#queue[0]) {
      if (next.heavy) {
        if (this.#active > 0) return;
        this.#exclusive = true;
      } else {
        if (this.#active >= this.limit) return;
        this.#active++;
      }
      this.#queue.shift();
      next.go();
    }
  }
}

/** How long one case may take on any transport. */
export const CASE_TIMEOUT_MS = 60_000;

/** Why `item` cannot run on `transport`, or undefined when it can. */
export function notApplicable(transport: Transport, item: Case): string | undefined {
  if (transport.style === 'pretty' && transport.lacks.rewrite) return transport.lacks.rewrite;
  if (item.heavy && transport.style !== 'direct') return '100 MiB cases run in the direct URL style only';
  for (const feature of item.needs ?? []) {
    const reason = transport.lacks[feature];
    if (reason) return reason;
  }
  return undefined;
}

export function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`case timed out after ${ms} ms`)), ms);
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}
