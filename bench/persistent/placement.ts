/**
 * Which cores the persistent rows run on. Left to the scheduler, one request at a time took
 * 96 µs a round trip in one run and 111 µs in the next for the same backend, as the backend
 * woke on the core of nginx and wrk or on the other one (on this VM a wake-up across cores goes
 * through the hypervisor): more than the difference between the backends being compared. So
 * every row gets the same placement: wrk, the client, alone on core 0, as a client on another
 * machine would be; nginx and the backend together on core 1, as a web server and its app
 * share a host. The rate then follows what the server side spends on a request, nginx's part
 * included. Rows that measure how a pool of workers uses every core keep every core.
 */
import { availableParallelism } from 'node:os';

export const CLIENT_CORE = 0;
export const SERVER_CORE = 1;

/** Placement needs two cores; on one, everything shares it anyway. */
const canPin = availableParallelism() >= 2;

/** `command` run on `core` (taskset), or as it is when the machine has a single core. */
export function onCore(core: number | undefined, command: readonly string[]): string[] {
  return canPin && core !== undefined ? ['/usr/bin/taskset', '-c', String(core), ...command] : [...command];
}
