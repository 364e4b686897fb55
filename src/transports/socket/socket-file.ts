import { lstatSync, rmSync } from 'node:fs';

/**
 * Removes the unix socket file at `path`, left by an earlier run (listen would fail with
 * EADDRINUSE); anything else there is left alone, so that listen fails and says so.
 */
export function removeSocketFile(path: string): void {
  try {
    if (lstatSync(path).isSocket()) rmSync(path);
  } catch {
    // Nothing there.
  }
}
