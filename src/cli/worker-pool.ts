import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/** What {@link WorkerPool} needs: how to start a worker, and where to say what happens. */
export interface WorkerPoolOptions {
  /** Workers kept running. */
  count: number;
  /** Starts one worker serving the shared socket. */
  start(): ChildProcess;
  log(message: string): void;
  /**
   * Whether a worker that ends with exit code 0 on its own (its maxRequests served) is
   * replaced. False lets the pool shrink: with an idle timeout the command ends once every
   * worker has gone idle.
   */
  replaceFinished: boolean;
}

/** A worker that dies sooner than this after its start counts as failing to start. */
const QUICK_DEATH_MS = 1000;
/** After this many quick deaths in a row the pool gives up instead of looping. */
const MAX_QUICK_DEATHS = 5;

interface Worker {
  child: ChildProcess;
  startedAt: number;
  /** Being replaced (reload) or stopped: its exit starts nothing. */
  retired: boolean;
}

/**
 * N copies of the script sharing one listening socket, as php-fpm's static pool or gunicorn
 * runs them: a worker that dies is replaced (at once, or after a growing pause when it keeps
 * dying at start, and the pool gives up after five such deaths in a row); `reload()` starts a
 * fresh set and stops the old one gracefully; `stop()` passes SIGTERM on and waits for all.
 */
export class WorkerPool {
  readonly #options: WorkerPoolOptions;
  readonly #workers = new Set<Worker>();
  #stopping = false;
  #quickDeaths = 0;
  #failed = false;
  #resolveDone!: (code: number) => void;
  /** Settles with the exit code for the command once no worker is left. */
  readonly done = new Promise<number>((resolve) => (this.#resolveDone = resolve));

  constructor(options: WorkerPoolOptions) {
    this.#options = options;
    for (let i = 0; i < options.count; i++) this.#spawn();
  }

  /** Process ids of the running workers. */
  get pids(): number[] {
    return [...this.#workers].flatMap(({ child, retired }) => (child.pid && !retired ? [child.pid] : []));
  }

  #spawn(): void {
    const child = this.#options.start();
    const worker: Worker = { child, startedAt: Date.now(), retired: false };
    this.#workers.add(worker);
    child.on('error', (error) => this.#options.log(`a worker could not start: ${error.message}`));
    void once(child, 'exit').then(([code, signal]) =>
      this.#exited(worker, code as number | null, signal as NodeJS.Signals | null),
    );
  }

  #exited(worker: Worker, code: number | null, signal: NodeJS.Signals | null): void {
    this.#workers.delete(worker);
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    if (this.#stopping || worker.retired) {
      if (code !== 0 && code !== null && this.#stopping) this.#failed = true;
      return this.#settleIfEmpty();
    }
    if (code === 0 && !this.#options.replaceFinished) {
      this.#options.log(`worker ${worker.child.pid} finished`);
      return this.#settleIfEmpty();
    }
    const quick = Date.now() - worker.startedAt < QUICK_DEATH_MS && code !== 0;
    this.#quickDeaths = quick ? this.#quickDeaths + 1 : 0;
    if (this.#quickDeaths >= MAX_QUICK_DEATHS) {
      this.#options.log(`worker ${worker.child.pid} ${how}; workers keep dying at start, stopping`);
      this.#failed = true;
      return void this.stop();
    }
    const pause = quick ? 100 * 2 ** (this.#quickDeaths - 1) : 0;
    this.#options.log(`worker ${worker.child.pid} ${how}; starting another${pause ? ` in ${pause} ms` : ''}`);
    setTimeout(() => {
      if (!this.#stopping) this.#spawn();
      else this.#settleIfEmpty();
    }, pause);
  }

  #settleIfEmpty(): void {
    if (this.#workers.size === 0 && (this.#stopping || !this.#options.replaceFinished)) {
      this.#resolveDone(this.#failed ? 1 : 0);
    }
  }

  /** Starts a fresh set of workers, then stops the old ones gracefully (new code, no lost request). */
  reload(): void {
    if (this.#stopping) return;
    const old = [...this.#workers];
    for (const worker of old) worker.retired = true;
    for (let i = 0; i < this.#options.count; i++) this.#spawn();
    for (const worker of old) worker.child.kill('SIGTERM');
  }

  /** Passes SIGTERM to every worker; `done` settles once all have exited. */
  stop(): Promise<number> {
    this.#stopping = true;
    for (const worker of this.#workers) worker.child.kill('SIGTERM');
    this.#settleIfEmpty();
    return this.done;
  }
}
