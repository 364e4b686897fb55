import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlive } from '../servers/processes.js';

/**
 * Live processes running a script installed under `dir` (a server's `runDir/docroot`): their
 * command line names the script (`node --eval=... /tmp/.../docroot/cgi-bin/app.cgi`).
 */
export function scriptProcesses(dir: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes(`${dir}/`) && isAlive(Number(entry))) found.push(Number(entry));
    } catch {
      // Gone while we looked.
    }
  }
  return found;
}

/** Resident and peak resident memory of `pid` in bytes (VmRSS, VmHWM), or undefined once gone. */
export function memoryOf(pid: number): { rss: number; peak: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { rss: kib('VmRSS'), peak: kib('VmHWM') };
  } catch {
    return undefined;
  }
}

/** Waits up to `ms` for every script process under `dir` to end; returns those still alive. */
export async function scriptsGone(dir: string, ms: number): Promise<number[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = scriptProcesses(dir);
    if (left.length === 0 || Date.now() > deadline) return left;
    await sleep(25);
  }
}
