/** The little of a Node `Writable` the writer needs; `process.stdout` and any Writable fit. */
export interface CgiOutput {
  write(chunk: Uint8Array | string, callback?: (error?: Error | null) => void): boolean;
  end(callback?: () => void): unknown;
  on(event: 'drain' | 'close' | 'error' | 'finish', listener: (...args: unknown[]) => void): unknown;
  once(event: 'drain' | 'close' | 'error' | 'finish', listener: (...args: unknown[]) => void): unknown;
  removeListener(event: 'drain' | 'close' | 'error' | 'finish', listener: (...args: unknown[]) => void): unknown;
  /**
   * True when `end()` has nothing left to flush and calls back at once (a FastCGI request's
   * STDOUT, whose ending goes out with END_REQUEST): a response already in memory is then
   * written and ended without waiting for anything.
   */
  readonly endsAtOnce?: boolean;
}

/**
 * Waits for `'drain'` as often as a body needs, with one set of listeners for the whole body
 * (adding and removing them per chunk costs more than the write). An abort also calls
 * `onAbort`, which ends a read the app's stream may never answer.
 */
export function drainWaiter(output: CgiOutput, signal: AbortSignal | undefined, onAbort: () => void) {
  let settle: ((error?: unknown) => void) | undefined;
  let failure: unknown;
  const wake = (error?: unknown) => {
    // A failure while nobody waits is kept for the next wait.
    if (error !== undefined) failure ??= error;
    const current = settle;
    settle = undefined;
    current?.(error);
  };
  const onDrain = () => wake();
  const onError = (error: unknown) => wake(error ?? new Error('output failed'));
  const onClose = () => wake(new Error('fetch-cgi: output closed before the response was written'));
  const aborted = () => {
    onAbort();
    wake(signal?.reason);
  };
  output.on('drain', onDrain);
  output.on('error', onError);
  output.on('close', onClose);
  signal?.addEventListener('abort', aborted, { once: true });
  return {
    drained(): Promise<void> {
      if (signal?.aborted) return Promise.reject(signal.reason);
      if (failure !== undefined) return Promise.reject(failure);
      return new Promise<void>((resolve, reject) => {
        settle = (error) => (error === undefined ? resolve() : reject(error));
      });
    },
    dispose(): void {
      output.removeListener('drain', onDrain);
      output.removeListener('error', onError);
      output.removeListener('close', onClose);
      signal?.removeEventListener('abort', aborted);
    },
  };
}

/** Ends `output` and resolves once everything written has been handed to the OS. */
export function endOutput(output: CgiOutput): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: unknown) => reject(error);
    output.once('error', onError);
    output.end(() => {
      output.removeListener('error', onError);
      resolve();
    });
  });
}

export function drained(output: CgiOutput, signal: AbortSignal | undefined): Promise<void> {
  // What would end the wait may already have happened, with nobody listening then.
  if (signal?.aborted) return Promise.reject(signal.reason);
  if ((output as { destroyed?: boolean }).destroyed) {
    return Promise.reject(new Error('fetch-cgi: output closed before the response was written'));
  }
  return new Promise((resolve, reject) => {
    const done = (error?: unknown) => {
      output.removeListener('drain', onDrain);
      output.removeListener('error', onError);
      output.removeListener('close', onClose);
      signal?.removeEventListener('abort', onAbort);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onDrain = () => done();
    const onError = (error: unknown) => done(error ?? new Error('output failed'));
    const onClose = () => done(new Error('fetch-cgi: output closed before the response was written'));
    const onAbort = () => done(signal?.reason);
    output.once('drain', onDrain);
    output.once('error', onError);
    output.once('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

type Listener = (...args: unknown[]) => void;

/** The events side of a hand-made {@link CgiOutput}: its on, once and removeListener, and emit. */
export function outputEvents(): Pick<CgiOutput, 'on' | 'once' | 'removeListener'> & {
  emit(event: string, ...args: unknown[]): void;
} {
  const listeners = new Map<string, Listener[]>();
  const add = (event: string, listener: Listener, once: boolean) => {
    const wrapped: Listener = once
      ? (...args) => {
          remove(event, wrapped);
          listener(...args);
        }
      : listener;
    (wrapped as { original?: Listener }).original = listener;
    listeners.set(event, [...(listeners.get(event) ?? []), wrapped]);
  };
  const remove = (event: string, listener: Listener) => {
    const list = listeners.get(event) ?? [];
    listeners.set(
      event,
      list.filter((item) => item !== listener && (item as { original?: Listener }).original !== listener),
    );
  };
  return {
    emit(event, ...args) {
      for (const listener of listeners.get(event) ?? []) listener(...args);
    },
    on: (event, listener) => add(event, listener, false),
    once: (event, listener) => add(event, listener, true),
    removeListener: (event, listener) => remove(event, listener),
  };
}
