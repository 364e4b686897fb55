import { existsSync } from 'node:fs';
import { chmod, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Message, Plugin } from 'esbuild';
import { parseCommandArgs } from './args.js';
import { buildHelp } from './help.js';
import { CliError, type CliIo, EXIT, UsageError } from './io.js';

/** Options of `buildScript`. */
export interface BuildScriptOptions {
  /** Absolute path of the module: a default-exported app, or a module calling `serveCgi`. */
  entry: string;
  /** Absolute path of the executable to write. */
  outfile: string;
  minify?: boolean;
  /** Inline source map, and Node started with `--enable-source-maps`. */
  sourcemap?: boolean;
  /** Interpreter for the shebang; default `/usr/bin/env -S node`. */
  node?: string;
}

/** What a build produced. */
export interface BuildScriptResult {
  /** `app`: the entry's default export was wrapped; `self`: the entry calls serveCgi itself. */
  kind: 'app' | 'self';
  /** Absolute paths of the project files (outside node_modules) the bundle was made from. */
  inputs: string[];
  bytes: number;
}

// This module runs from src/cli/*.ts (tsx, tests) or dist/cli/*.js (the published package);
// the bundle takes `fetch-cgi` from the same tree, so it matches the running CLI.
const here = dirname(fileURLToPath(import.meta.url));
const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
const ownIndex = resolve(here, '..', `index${ext}`);
const ownServeCgi = resolve(here, '..', `serve-cgi${ext}`);

/**
 * The node entry in the shebang. Node refuses to run a file with an unknown extension such as
 * `.cgi` as a script inside a `"type": "module"` package scope, and runs extensionless files
 * there as ESM; `require()` has neither rule and loads any file as CommonJS. So the shebang
 * has node evaluate `require(path.resolve(process.argv[1]))` (builtins are globals in `-e`
 * code), which runs the bundle as CommonJS whatever its name and whatever package.json sits
 * above it, at no measurable start-up cost. The code may not contain spaces: a shebang passes
 * everything after the interpreter as one argument.
 */
const LOADER = '--eval=require(path.resolve(process.argv[1]))';

const META_URL_SHIM = 'var __fetchCgiMetaUrl = require("url").pathToFileURL(__filename).href;';

/** The first line of the script: `#!/usr/bin/env -S node --eval=...` or `#!<node> --eval=...`. */
export function shebangFor(options: Pick<BuildScriptOptions, 'node' | 'sourcemap'>): string {
  const flags = options.sourcemap ? `--enable-source-maps ${LOADER}` : LOADER;
  if (options.node === undefined) return `#!/usr/bin/env -S node ${flags}`;
  // Linux hands everything after the interpreter over as one argument, so with more than one
  // flag the interpreter must be env -S.
  return options.sourcemap ? `#!/usr/bin/env -S ${options.node} ${flags}` : `#!${options.node} ${flags}`;
}

/**
 * Bundles `entry` with esbuild into one self-contained executable CommonJS file (platform
 * node, target node20, mode 0755), written atomically to `outfile`.
 *
 * Which wrapper is bundled: if the entry's bundle contains `serveCgi` (it calls it, directly
 * or through an import), it is self-serving and bundled as is; otherwise if it has a default
 * export, the bundle is `serveCgi(<default export>)`, checked at run time to be an app;
 * otherwise the build fails. `import 'fetch-cgi'` resolves to the package this CLI runs from.
 *
 * @throws {CliError} for a missing entry, an esbuild error (first message, `file:line:column`),
 *   or an entry with neither a default export nor a `serveCgi` call.
 */
export async function buildScript(options: BuildScriptOptions): Promise<BuildScriptResult> {
  const { entry } = options;
  if (!existsSync(entry) || !(await stat(entry)).isFile()) {
    throw new CliError(`entry not found: ${entry}`);
  }
  const esbuild = await import('esbuild');
  const alias: Plugin = {
    name: 'fetch-cgi-self',
    setup(build) {
      build.onResolve({ filter: /^fetch-cgi$/ }, () => ({ path: ownIndex }));
      // The entry runs for its effects even under a package.json with "sideEffects": false.
      build.onResolve({ filter: new RegExp(`^${entry.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) }, () => ({
        path: entry,
        sideEffects: true,
      }));
    },
  };
  const cwd = dirname(entry);
  const bundle = async (contents: string, format: 'esm' | 'cjs') => {
    try {
      return await esbuild.build({
        stdin: { contents, resolveDir: cwd, sourcefile: '<fetch-cgi entry>', loader: 'js' },
        absWorkingDir: cwd,
        bundle: true,
        platform: 'node',
        target: 'node20',
        format,
        write: false,
        metafile: true,
        logLevel: 'silent',
        plugins: [alias],
        minify: options.minify === true,
        sourcemap: options.sourcemap ? 'inline' : false,
        sourcesContent: false,
        // CommonJS has no import.meta; give code that reads import.meta.url the bundle's URL.
        // The shebang goes in the banner so that source map lines account for it.
        banner: { js: `${shebangFor(options)}\n${format === 'cjs' ? META_URL_SHIM : ''}` },
        // CommonJS has no import.meta; give code that reads import.meta.url the bundle's URL.
        ...(format === 'cjs' ? { define: { 'import.meta.url': '__fetchCgiMetaUrl' } } : {}),
      });
    } catch (error) {
      const first = (error as { errors?: Message[] }).errors?.[0];
      throw new CliError(`build failed: ${formatMessage(first, error, cwd)}`);
    }
  };

  const spec = JSON.stringify(entry);
  // First pass, as ESM so the metafile lists the entry's exports.
  const probe = await bundle(`export * from ${spec}; export { default } from ${spec};`, 'esm').catch(
    async (error: unknown) => {
      // `export { default }` fails when there is none; probe again without it.
      if (error instanceof CliError && /No matching export .* "default"/.test(error.message)) {
        return { ...(await bundle(`export * from ${spec};`, 'esm')), noDefault: true };
      }
      throw error;
    },
  );
  const [, probeOutput] = Object.entries(probe.metafile!.outputs)[0] ?? [];
  const selfServing = Object.entries(probeOutput?.inputs ?? {}).some(
    ([file, { bytesInOutput }]) => resolve(cwd, file) === ownServeCgi && bytesInOutput > 0,
  );
  const hasDefault = !('noDefault' in probe) && (probeOutput?.exports ?? []).includes('default');
  if (!selfServing && !hasDefault) {
    throw new CliError(
      `${entry} has no default export and never calls serveCgi: ` +
        'export default your app, or call serveCgi(app) from fetch-cgi',
    );
  }

  const label = JSON.stringify(basename(entry));
  const wrapper = selfServing
    ? `import ${spec};`
    : [
        `import app from ${spec};`,
        `import { serveCgi } from 'fetch-cgi';`,
        `if (typeof app === 'function' || typeof app?.fetch === 'function') serveCgi(app);`,
        `else { process.stderr.write('fetch-cgi: the default export of ' + ${label} + ' is not an app (a function or an object with a fetch method)\\n'); process.exitCode = 1; }`,
      ].join('\n');
  const result = await bundle(wrapper, 'cjs');
  const script = result.outputFiles?.[0]?.text ?? '';

  const temporary = join(dirname(options.outfile), `.${basename(options.outfile)}.${process.pid}.tmp`);
  try {
    await mkdir(dirname(options.outfile), { recursive: true });
    await writeFile(temporary, script, { mode: 0o755 });
    await chmod(temporary, 0o755);
    await rename(temporary, options.outfile);
  } catch (error) {
    await rm(temporary, { force: true });
    throw new CliError(`cannot write ${options.outfile}: ${(error as Error).message}`);
  }

  const inputs = Object.keys(result.metafile!.inputs)
    .filter((file) => !file.includes('node_modules/') && !file.startsWith('<'))
    .map((file) => resolve(cwd, file))
    .filter((file) => !file.startsWith(resolve(here, '..')));
  return { kind: selfServing ? 'self' : 'app', inputs, bytes: Buffer.byteLength(script) };
}

/** esbuild's message as `/abs/file:line:column: text` (column counted from 1). */
function formatMessage(message: Message | undefined, error: unknown, cwd: string): string {
  if (!message) return (error as Error).message;
  const at = message.location;
  return at ? `${resolve(cwd, at.file)}:${at.line}:${at.column + 1}: ${message.text}` : message.text;
}

/** `fetch-cgi build <entry> [-o out] [--minify] [--sourcemap] [--node PATH] [--runtime node]` */
export async function buildCommand(io: CliIo, args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('build', args, {
    help: { type: 'boolean', short: 'h' },
    out: { type: 'string', short: 'o' },
    minify: { type: 'boolean' },
    sourcemap: { type: 'boolean' },
    node: { type: 'string' },
    runtime: { type: 'string' },
  });
  if (values.help) {
    io.stdout.write(buildHelp);
    return EXIT.ok;
  }
  if (positionals.length !== 1) throw new UsageError('build needs exactly one entry file (see fetch-cgi build --help)');
  const runtime = values.runtime ?? 'node';
  if (runtime === 'bun' || runtime === 'deno') {
    throw new CliError(`--runtime ${runtime} is not yet supported; only node is`);
  }
  if (runtime !== 'node') throw new UsageError(`--runtime must be node, got ${JSON.stringify(runtime)}`);
  if (values.node !== undefined && !values.node.startsWith('/')) {
    throw new UsageError(`--node needs an absolute path for the shebang, got ${JSON.stringify(values.node)}`);
  }

  const cwd = io.cwd ?? process.cwd();
  const entry = resolve(cwd, positionals[0] ?? '');
  const outfile = resolve(cwd, values.out ?? `${basename(entry, extname(entry))}.cgi`);
  const started = performance.now();
  const result = await buildScript({
    entry,
    outfile,
    ...(values.minify ? { minify: true } : {}),
    ...(values.sourcemap ? { sourcemap: true } : {}),
    ...(values.node !== undefined ? { node: values.node } : {}),
  });
  const ms = Math.round(performance.now() - started);
  const how = result.kind === 'app' ? 'default export served by serveCgi' : 'calls serveCgi itself';
  const shown = relative(cwd, outfile).startsWith('..') ? outfile : relative(cwd, outfile);
  io.stderr.write(`fetch-cgi: built ${shown} (${formatBytes(result.bytes)}, ${how}) in ${ms} ms\n`);
  return EXIT.ok;
}

function formatBytes(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KiB`;
}
