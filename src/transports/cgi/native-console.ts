/**
 * Bun's and Deno's `console.log` writes straight to fd 1, past `process.stdout`, so on those
 * runtimes redirecting `process.stdout.write` is not enough: a stray log line would land in the
 * response. This points every console method that writes to stdout at `console.error`
 * (counters and timers keep their own small state).
 */
export function redirectNativeConsole(): void {
  const original = console.error.bind(console);
  // Bun writes the newline of a bare console.error() to stdout.
  const error = (...data: unknown[]) => (data.length === 0 ? original('') : original(...data));
  const counts = new Map<string, number>();
  const timers = new Map<string, number>();
  const elapsed = (label: string) => `${label}: ${(performance.now() - (timers.get(label) ?? 0)).toFixed(3)}ms`;
  Object.assign(console, {
    log: error,
    info: error,
    debug: error,
    dir: error,
    dirxml: error,
    table: error,
    group: (...labels: unknown[]) => (labels.length > 0 ? error(...labels) : undefined),
    groupCollapsed: (...labels: unknown[]) => (labels.length > 0 ? error(...labels) : undefined),
    count: (label = 'default') => {
      counts.set(label, (counts.get(label) ?? 0) + 1);
      error(`${label}: ${counts.get(label)}`);
    },
    countReset: (label = 'default') => void counts.delete(label),
    time: (label = 'default') => void timers.set(label, performance.now()),
    timeLog: (label = 'default', ...data: unknown[]) => error(elapsed(label), ...data),
    timeEnd: (label = 'default') => {
      error(elapsed(label));
      timers.delete(label);
    },
  });
}
