import { existsSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { chmod, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Message, Metafile, Plugin } from 'esbuild';
import { parseCommandArgs } from './args.js';
import { LOADER_EVAL, withCodeCacheLoader } from './code-cache.js';
import { scriptTail, TAIL_LOADER } from './script-tail.js';
import { compileStandalone, type StandaloneTarget, standaloneTarget } from './standalone.js';
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
  /** Absolute path of the runtime's binary for the shebang; default: found on PATH by `env`. */
  node?: string;
  /** The runtime the script runs on (default `node`); it picks the shebang and bundle format. */
  runtime?: Runtime;
  /**
   * Compile the bundle with V8's code cache, made on the first run and kept per user in the temp
   * folder (default: on for Node without `sourcemap`; Bun and Deno cache on their own).
   */
  codeCache?: boolean;
  /**
   * Compile into one executable for this platform that needs no runtime on the host (see
   * standalone.ts); it runs on Bun, which it carries, and `runtime`, `node` and `codeCache`
   * do not apply.
   */
  standalone?: StandaloneTarget;
}

/** The JavaScript runtimes a built script can run on. */
export type Runtime = 'node' | 'bun' | 'deno';

/** Every {@link Runtime}, in the order help and errors list them. */
export const RUNTIMES: readonly Runtime[] = ['node', 'bun', 'deno'];

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
const ownHono = resolve(here, '..', `hono${ext}`);
const ownBunAlign = resolve(here, '..', 'runtime', `bun-align${ext}`);
// The socket part, which a built script carries in its tail (see script-tail.ts).
const ownSocketDoor = resolve(here, '..', 'transports', 'socket', 'serve-process');
const BARE_BUILTIN = new RegExp(
  `^(${builtinModules
    .filter((name) => !name.startsWith('_'))
    .join('|')
    .replace(/[/]/g, '\\/')})$`,
);

/**
 * The node entry in the shebang of a plain bundle (without the code cache's loader, whose entry
 * is `LOADER_EVAL`). Node refuses to run a file with an unknown extension such as `.cgi` as a
 * script inside a `"type": "module"` package scope, and runs extensionless files there as ESM;
 * a CommonJS `Module` loads any file as CommonJS. So the shebang has node evaluate code that
 * loads the script as a module of its own (in `-e` code `module` is the `[eval]` module and
 * builtins such as `path` are globals), whatever its name and whatever package.json sits above
 * it. It calls `Module#load` rather than `require()`, whose resolution of the path (realpath,
 * package.json lookups) costs 0.5 ms a start. The code may contain no spaces or quotes: a
 * shebang passes everything after the interpreter as one argument, which `env -S` splits and
 * unquotes.
 */
const MODULE_EVAL = '--eval=(m=>m.load(m.id))(new(module.constructor)(path.resolve(process.argv[1])))';

// A getter: computing the URL on every start costs Bun 2-3 ms for require("url"), and few
// bundles ever read import.meta.url.
const META_URL_SHIM = 'var __fetchCgiMeta = { get url() { return require("url").pathToFileURL(__filename).href; } };';

/**
 * Deno runs ES modules only, and CommonJS dependencies in an ES bundle call `require` and read
 * `__filename`/`__dirname`: give them Node's, from `node:module`.
 */
const ESM_CJS_SHIM = [
  'import { createRequire as __fetchCgiCreateRequire } from "node:module";',
  'import { fileURLToPath as __fetchCgiFileUrlToPath } from "node:url";',
  'const require = __fetchCgiCreateRequire(import.meta.url);',
  'const __filename = __fetchCgiFileUrlToPath(import.meta.url);',
  'const __dirname = __filename.slice(0, __filename.lastIndexOf("/"));',
].join('\n');

/**
 * Deno's flags: all permissions (a CGI script is trusted code the server already runs as a
 * user of its choosing), no deno.json or lock file from the folders above the script, no
 * download progress on stderr, and JavaScript whatever the file's extension.
 */
const DENO_FLAGS = 'run --allow-all --no-config --no-lock --quiet --ext=js';

/**
 * The first line of the script. Node: `#!/usr/bin/env -S node --eval=...` or `#!<node>
 * --eval=...`; Bun: `#!/usr/bin/env bun` or `#!<bun>`; Deno: `#!/usr/bin/env -S deno run ...`.
 */
export function shebangFor(options: Pick<BuildScriptOptions, 'node' | 'sourcemap' | 'runtime' | 'codeCache'>): string {
  const runtime = options.runtime ?? 'node';
  const binary = options.node ?? runtime;
  // Linux hands everything after the interpreter over as one argument, so with more than one
  // argument the interpreter must be env -S; a bare name is looked up on PATH by env.
  const line = (args: string) => {
    if (options.node !== undefined && !args.includes(' ')) return `#!${binary}${args ? ` ${args}` : ''}`;
    return args ? `#!/usr/bin/env -S ${binary} ${args}` : `#!/usr/bin/env ${binary}`;
  };
  // Bun and Deno read inline source maps without a flag.
  if (runtime === 'bun') return line('');
  if (runtime === 'deno') return line(DENO_FLAGS);
  const entry = usesCodeCache(options) ? LOADER_EVAL : MODULE_EVAL;
  return line(options.sourcemap ? `--enable-source-maps ${entry}` : entry);
}

/** Whether a build gets the code cache's loader: by default Node's, without a source map. */
function usesCodeCache(options: Pick<BuildScriptOptions, 'sourcemap' | 'runtime' | 'codeCache'>): boolean {
  return options.codeCache ?? ((options.runtime ?? 'node') === 'node' && !options.sourcemap);
}

/**
 * Bundles `entry` with esbuild into one self-contained executable file (platform node, target
 * node20, mode 0755), written atomically to `outfile`: CommonJS for Node and Bun, an ES module
 * for Deno, which runs nothing else.
 *
 * Which wrapper is bundled: if the entry's bundle contains `serveCgi` (it calls it, directly
 * or through an import), it is self-serving and bundled as is; otherwise if it has a default
 * export, the bundle is `serveCgi(<default export>)`, checked at run time to be an app;
 * otherwise the build fails. `import 'fetch-cgi'` resolves to the package this CLI runs from.
 *
 * @throws {CliError} for a missing entry, an esbuild error (first message, `file:line:column`),
 *   or an entry with neither a default export nor a `serveCgi` call.
 */
export async function buildScript(given: BuildScriptOptions): Promise<BuildScriptResult> {
  // A standalone program is a bundle for Bun, without the tail: Bun's compiler keeps it whole.
  const { node: _node, ...rest } = given;
  const options: BuildScriptOptions = given.standalone ? { ...rest, runtime: 'bun', codeCache: false } : given;
  const { entry, standalone } = options;
  if (!existsSync(entry) || !(await stat(entry)).isFile()) {
    throw new CliError(`entry not found: ${entry}`);
  }
  const esbuild = await import('esbuild');
  const alias: Plugin = {
    name: 'fetch-cgi-self',
    setup(build) {
      build.onResolve({ filter: /^fetch-cgi$/ }, () => ({ path: ownIndex }));
      build.onResolve({ filter: /^fetch-cgi\/hono$/ }, () => ({ path: ownHono }));
      // Deno resolves Node's builtins only with the `node:` prefix.
      if (options.runtime === 'deno')
        build.onResolve({ filter: BARE_BUILTIN }, (args) => ({ path: `node:${args.path}`, external: true }));
      // The socket part is not in the bundle: a loader of the script's tail stands in for it.
      if (!standalone)
        build.onResolve({ filter: /\/serve-process\.[jt]s$/ }, (args) =>
          resolve(args.resolveDir, args.path).replace(/\.[jt]s$/, '') === ownSocketDoor
            ? { path: 'socket-door', namespace: 'fetch-cgi-tail' }
            : undefined,
        );
      build.onLoad({ filter: /.*/, namespace: 'fetch-cgi-tail' }, () => ({
        contents: TAIL_LOADER,
        loader: 'js',
        resolveDir: here,
      }));
      // The entry (and Bun's alignment) run for their effects even under "sideEffects": false.
      for (const path of [entry, ownBunAlign]) {
        build.onResolve({ filter: new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) }, () => ({
          path,
          sideEffects: true,
        }));
      }
    },
  };
  const cwd = dirname(entry);
  // esbuild applies no tsconfig.json to a file a plugin resolved, as the entry is above: name
  // the entry's own, so its JSX and other settings hold.
  const tsconfig = nearestTsconfig(cwd);
  const bundle = async (contents: string, format: 'esm' | 'cjs', final = false) => {
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
        ...(tsconfig ? { tsconfig } : {}),
        minify: options.minify === true,
        sourcemap: options.sourcemap ? 'inline' : false,
        sourcesContent: false,
        // CommonJS has no import.meta; give code that reads import.meta.url the bundle's URL.
        // The shebang goes in the banner so that source map lines account for it.
        banner: {
          js: `${standalone ? '' : shebangFor(options)}\n${format === 'cjs' ? META_URL_SHIM : final ? ESM_CJS_SHIM : ''}`,
        },
        // CommonJS has no import.meta; give code that reads import.meta.url the bundle's URL.
        ...(format === 'cjs' ? { define: { 'import.meta.url': '__fetchCgiMeta.url' } } : {}),
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
  // On Bun, before anything of the app's is evaluated (see bun-align.ts).
  const first = options.runtime === 'bun' ? `import ${JSON.stringify(ownBunAlign)};\n` : '';
  const wrapper = selfServing
    ? `${first}import ${spec};`
    : first +
      [
        `import app from ${spec};`,
        `import { serveCgi } from 'fetch-cgi';`,
        `if (typeof app === 'function' || typeof app?.fetch === 'function') serveCgi(app);`,
        `else { process.stderr.write('fetch-cgi: the default export of ' + ${label} + ' is not an app (a function or an object with a fetch method)\\n'); process.exitCode = 1; }`,
      ].join('\n');
  const result = await bundle(wrapper, options.runtime === 'deno' ? 'esm' : 'cjs', true);
  const bundled = result.outputFiles?.[0]?.text ?? '';
  const codeCache = usesCodeCache(options);
  const shebangEnd = bundled.indexOf('\n') + 1;
  const [shebang, body] = [bundled.slice(0, shebangEnd), bundled.slice(shebangEnd)];
  let script = bundled;
  if (codeCache) script = shebang + withCodeCacheLoader(body);
  // Bun transpiles every file it loads unless `bun build` made it (its cache needs a HOME, which
  // a CGI environment lacks): the pragma and wrapper of `bun build --format=cjs` save ~3 ms a start.
  // Bun's compiler writes the build machine's paths for __filename and __dirname; the program's
  // own path is what a script gets (import.meta.url too, which reads __filename).
  else if (standalone) {
    script = `(function (__filename, __dirname) {${body}\n})(process.execPath, process.execPath.slice(0, process.execPath.lastIndexOf("/")) || "/");\n`;
  } else if (options.runtime === 'bun' && !options.sourcemap) {
    script = `${shebang}// @bun @bun-cjs\n(function(exports, require, module, __filename, __dirname) {${body}\n})\n`;
  }

  if (standalone) {
    const bytes = await writeStandalone(script, options.outfile, standalone, [cwd, process.cwd()]);
    return { kind: selfServing ? 'self' : 'app', inputs: projectInputs(result.metafile!, cwd), bytes };
  }
  script += scriptTail(await socketPart(esbuild, options));

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

  const inputs = projectInputs(result.metafile!, cwd);
  return { kind: selfServing ? 'self' : 'app', inputs, bytes: Buffer.byteLength(script) };
}

/** The project files (outside node_modules and fetch-cgi) a bundle was made from. */
function projectInputs(metafile: Metafile, cwd: string): string[] {
  return Object.keys(metafile.inputs)
    .filter((file) => !file.includes('node_modules/') && !file.startsWith('<'))
    .map((file) => resolve(cwd, file))
    .filter((file) => !file.startsWith(resolve(here, '..')));
}

/** Compiles `bundle` into the executable `outfile`, replaced whole; returns its size. */
async function writeStandalone(
  bundle: string,
  outfile: string,
  target: StandaloneTarget,
  from: readonly string[],
): Promise<number> {
  // A folder beside the output, so the rename is atomic; the program is compiled under its own
  // name, which Bun shows as its argv[1] (`/$bunfs/root/<name>`).
  const work = join(dirname(outfile), `.${basename(outfile)}.${process.pid}`);
  const compiled = join(work, basename(outfile));
  try {
    await mkdir(work, { recursive: true });
    await writeFile(`${compiled}.cjs`, bundle);
    await compileStandalone({ bundle: `${compiled}.cjs`, outfile: compiled, target, from });
    await chmod(compiled, 0o755);
    await rename(compiled, outfile);
    return (await stat(outfile)).size;
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`cannot write ${outfile}: ${(error as Error).message}`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The socket part (FastCGI and SCGI) as a CommonJS bundle of its own, for the script's tail. */
async function socketPart(esbuild: typeof import('esbuild'), options: BuildScriptOptions): Promise<string> {
  const plugins: Plugin[] =
    options.runtime === 'deno'
      ? [
          {
            name: 'fetch-cgi-node-prefix',
            setup: (build) =>
              build.onResolve({ filter: BARE_BUILTIN }, (args) => ({ path: `node:${args.path}`, external: true })),
          },
        ]
      : [];
  const result = await esbuild.build({
    entryPoints: [`${ownSocketDoor}${ext}`],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    write: false,
    logLevel: 'silent',
    plugins,
  });
  return result.outputFiles?.[0]?.text ?? '';
}

/** The `tsconfig.json` in `dir` or the closest folder above it, if any. */
function nearestTsconfig(dir: string): string | undefined {
  for (let at = dir; ; at = dirname(at)) {
    const candidate = join(at, 'tsconfig.json');
    if (existsSync(candidate)) return candidate;
    if (dirname(at) === at) return undefined;
  }
}

/** esbuild's message as `/abs/file:line:column: text` (column counted from 1). */
function formatMessage(message: Message | undefined, error: unknown, cwd: string): string {
  if (!message) return (error as Error).message;
  const at = message.location;
  return at ? `${resolve(cwd, at.file)}:${at.line}:${at.column + 1}: ${message.text}` : message.text;
}

/** `fetch-cgi build <entry> [-o out] [--minify] [--sourcemap] [--no-code-cache] [--runtime node|bun|deno] [--node PATH]` */
export async function buildCommand(io: CliIo, args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('build', args, {
    help: { type: 'boolean', short: 'h' },
    out: { type: 'string', short: 'o' },
    minify: { type: 'boolean' },
    sourcemap: { type: 'boolean' },
    'no-code-cache': { type: 'boolean' },
    node: { type: 'string' },
    runtime: { type: 'string' },
    standalone: { type: 'boolean' },
    target: { type: 'string' },
  });
  if (values.help) {
    io.stdout.write(buildHelp);
    return EXIT.ok;
  }
  if (positionals.length !== 1) throw new UsageError('build needs exactly one entry file (see fetch-cgi build --help)');
  const runtime = (values.runtime ?? 'node') as Runtime;
  if (!RUNTIMES.includes(runtime)) {
    throw new UsageError(`--runtime must be one of ${RUNTIMES.join(', ')}, got ${JSON.stringify(values.runtime)}`);
  }
  if (values.standalone) {
    const clash = (['runtime', 'node', 'no-code-cache', 'sourcemap'] as const).filter(
      (name) => values[name] !== undefined,
    );
    if (clash.length > 0) {
      throw new UsageError(`--standalone carries its own runtime: drop ${clash.map((name) => `--${name}`).join(', ')}`);
    }
  } else if (values.target !== undefined) throw new UsageError('--target applies to --standalone builds only');
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
    ...(values['no-code-cache'] ? { codeCache: false } : {}),
    ...(values.node !== undefined ? { node: values.node } : {}),
    ...(runtime !== 'node' ? { runtime } : {}),
    ...(values.standalone ? { standalone: standaloneTarget(values.target) } : {}),
  });
  const ms = Math.round(performance.now() - started);
  const how =
    (result.kind === 'app' ? 'default export served by serveCgi' : 'calls serveCgi itself') +
    (values.standalone
      ? `, standalone for ${standaloneTarget(values.target).name}`
      : runtime === 'node'
        ? ''
        : `, for ${runtime}`);
  const shown = relative(cwd, outfile).startsWith('..') ? outfile : relative(cwd, outfile);
  io.stderr.write(`fetch-cgi: built ${shown} (${formatBytes(result.bytes)}, ${how}) in ${ms} ms\n`);
  return EXIT.ok;
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  return bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KiB`;
}
