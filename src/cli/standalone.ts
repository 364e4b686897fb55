/**
 * `fetch-cgi build --standalone`: one executable that needs no JavaScript runtime on the host.
 * The bundle esbuild made is compiled by Bun (`bun build --compile --bytecode`) into a copy of
 * Bun's own executable for the target, taken from Bun's npm package for that platform, so the
 * build never downloads anything. Why Bun and not a Node single executable application or
 * `deno compile`: docs/deploy/standalone.md (start-up measured, size, what works offline).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, platform } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliError } from './io.js';

/** A platform a standalone build can run on. */
export interface StandaloneTarget {
  /** The name `--target` takes: `linux-x64`, `linux-arm64`, ... */
  name: string;
  /** Bun's name for it in `bun build --compile --target`. */
  bunTarget: string;
  /** The npm package that holds Bun's executable for it. */
  bunPackage: string;
}

/**
 * The targets, by `--target` name. `-baseline`: x64 processors without AVX2 (before about 2013,
 * and some virtual machines), where the plain x64 build stops with "Illegal instruction".
 * `-musl`: Alpine and other musl-based systems.
 */
export const STANDALONE_TARGETS: readonly StandaloneTarget[] = [
  ['linux-x64', 'bun-linux-x64', '@oven/bun-linux-x64'],
  ['linux-x64-baseline', 'bun-linux-x64-baseline', '@oven/bun-linux-x64-baseline'],
  ['linux-arm64', 'bun-linux-arm64', '@oven/bun-linux-aarch64'],
  ['linux-x64-musl', 'bun-linux-x64-musl', '@oven/bun-linux-x64-musl'],
  ['linux-arm64-musl', 'bun-linux-arm64-musl', '@oven/bun-linux-aarch64-musl'],
].map(([name, bunTarget, bunPackage]) => ({ name, bunTarget, bunPackage }) as StandaloneTarget);

/** The target of the machine the build runs on (glibc assumed), or undefined if none fits. */
export function hostTarget(): StandaloneTarget | undefined {
  if (platform() !== 'linux') return undefined;
  const name = arch() === 'x64' ? 'linux-x64' : arch() === 'arm64' ? 'linux-arm64' : '';
  return STANDALONE_TARGETS.find((target) => target.name === name);
}

/** The target named `name`; a clear error lists the others. */
export function standaloneTarget(name: string | undefined): StandaloneTarget {
  if (name === undefined) {
    const host = hostTarget();
    if (!host) {
      throw new CliError(
        `--standalone builds for Linux on x64 or arm64; this machine is ${platform()}-${arch()}: ` +
          `name one with --target (${STANDALONE_TARGETS.map((t) => t.name).join(', ')})`,
      );
    }
    return host;
  }
  const found = STANDALONE_TARGETS.find((target) => target.name === name);
  if (!found) {
    throw new CliError(
      `--target must be one of ${STANDALONE_TARGETS.map((t) => t.name).join(', ')}, got ${JSON.stringify(name)}`,
    );
  }
  return found;
}

/**
 * Bun's executable from `bunPackage`, looked up from each of `from` (the app's folder, the
 * current folder) and then from this package's own folder, or undefined.
 */
export function findBunPackageBinary(bunPackage: string, from: readonly string[]): string | undefined {
  for (const dir of [...from, dirname(fileURLToPath(import.meta.url))]) {
    try {
      const manifest = createRequire(join(dir, 'noop.js')).resolve(`${bunPackage}/package.json`);
      const binary = join(dirname(manifest), 'bin', 'bun');
      if (existsSync(binary)) return binary;
    } catch {
      // Not installed where this folder resolves packages; try the next.
    }
  }
  return undefined;
}

/** `bun` on PATH, if any. */
function bunOnPath(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, 'bun'))) return join(dir, 'bun');
  }
  return undefined;
}

/** What {@link compileStandalone} needs. */
export interface CompileOptions {
  /** The CommonJS bundle (no shebang) to compile. */
  bundle: string;
  outfile: string;
  target: StandaloneTarget;
  /** Folders to look for Bun's packages from, most specific first. */
  from: readonly string[];
}

/**
 * Compiles `bundle` into the executable `outfile` for `target`. The compiler is Bun for this
 * machine; the executable it copies is Bun for the target (the same one when they match). A
 * standalone program reads no `.env` or `bunfig.toml` from the folder it runs in: a CGI
 * program's folder is the web server's, and a plain build reads neither.
 *
 * @throws {CliError} naming the npm package to install when a Bun is missing.
 */
export async function compileStandalone(options: CompileOptions): Promise<void> {
  const { target } = options;
  const host = hostTarget();
  const hostBun = host ? (findBunPackageBinary(host.bunPackage, options.from) ?? bunOnPath()) : undefined;
  if (!hostBun) {
    throw new CliError(
      `--standalone compiles with Bun, which is not installed here: run npm install --save-dev ${host?.bunPackage ?? 'bun'}`,
    );
  }
  const args = [
    'build',
    '--compile',
    '--bytecode',
    '--format=cjs',
    `--target=${target.bunTarget}`,
    '--no-compile-autoload-dotenv',
    '--no-compile-autoload-bunfig',
    options.bundle,
    '--outfile',
    options.outfile,
  ];
  if (target.name !== host?.name) {
    const targetBun = findBunPackageBinary(target.bunPackage, options.from);
    if (!targetBun) {
      throw new CliError(
        `--target ${target.name} needs Bun's executable for that platform, which npm installs only with ` +
          `--force on this machine: run npm install --save-dev --force ${target.bunPackage}`,
      );
    }
    args.push(`--compile-executable-path=${targetBun}`);
  }
  await new Promise<void>((resolve, reject) => {
    execFile(hostBun, args, { maxBuffer: 16 * 1024 * 1024 }, (error, _stdout, stderr) => {
      if (!error) return resolve();
      const why = String(stderr).trim().split('\n').filter(Boolean).slice(-3).join('; ') || error.message;
      reject(new CliError(`bun build --compile failed for ${target.name}: ${why}`));
    });
  });
}
