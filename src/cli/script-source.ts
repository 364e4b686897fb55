import { existsSync, type FSWatcher, statSync, watch } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, extname, join } from 'node:path';
import { buildScript } from './build.js';
import { CliError } from './io.js';

const ENTRY_EXTENSIONS = new Set(['.ts', '.mts', '.cts', '.tsx', '.js', '.mjs', '.cjs', '.jsx']);

/** A runnable script: a file given as is, or an entry built (and rebuilt) to a temporary file. */
export interface ScriptSource {
  /** Path of the script to run, once the current build is done; rejects with a build error. */
  current(): Promise<string>;
  /** Whether the file is an entry that gets built. */
  readonly built: boolean;
  /** Stops watching and removes the temporary build. */
  close(): Promise<void>;
}

/**
 * The script for `file`: files ending in a JavaScript or TypeScript extension are entries,
 * built with `buildScript` to a temporary folder (and rebuilt on change when `watch` is set,
 * reported through `log`); anything else (`app.cgi`, `nph-x`, `run.sh`), or any file when
 * `noBuild` is set, is run as it is.
 */
export async function openScriptSource(
  file: string,
  options: { noBuild: boolean; watch: boolean; log(message: string): void },
): Promise<ScriptSource> {
  if (!existsSync(file) || !statSync(file).isFile()) throw new CliError(`script not found: ${file}`);
  if (options.noBuild || !ENTRY_EXTENSIONS.has(extname(file))) {
    return { current: async () => file, built: false, close: async () => {} };
  }
  const folder = await mkdtemp(join(tmpdir(), 'fetch-cgi-'));
  const outfile = join(folder, `${basename(file, extname(file))}.cgi`);
  const watchers = new Map<string, FSWatcher>();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const build = async (): Promise<string> => {
    const result = await buildScript({ entry: file, outfile });
    if (options.watch && !closed) watchFolders(result.inputs.map((input) => dirname(input)));
    return outfile;
  };
  const watchFolders = (folders: string[]) => {
    for (const dir of new Set([dirname(file), ...folders])) {
      if (watchers.has(dir)) continue;
      try {
        watchers.set(
          dir,
          watch(dir, () => schedule()).on('error', () => {}),
        );
      } catch {
        // A folder that vanished is not worth failing the server for.
      }
    }
  };
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (closed) return;
      const started = performance.now();
      const next = build();
      // Keep serving the last good build until the new one is ready.
      next.then(
        () => {
          pending = next;
          options.log(`rebuilt ${basename(file)} in ${Math.round(performance.now() - started)} ms`);
        },
        (error: unknown) => {
          pending = next;
          options.log((error as Error).message);
        },
      );
    }, 100);
  };

  const close = async () => {
    closed = true;
    clearTimeout(timer);
    for (const watcher of watchers.values()) watcher.close();
    await rm(folder, { recursive: true, force: true });
  };
  let pending = build();
  if (options.watch) watchFolders([]);
  try {
    await pending;
  } catch (error) {
    await close();
    throw error;
  }
  return { current: () => pending, built: true, close };
}
