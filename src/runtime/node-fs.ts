import type * as NodeFs from 'node:fs';

let fs: typeof NodeFs | undefined;

/**
 * `node:fs`, fetched when first needed rather than imported: Node has it loaded before any
 * script runs, but Bun takes about 2 ms to load it, and a plain response on Bun never needs it.
 */
export function nodeFs(): typeof NodeFs {
  return (fs ??= process.getBuiltinModule('node:fs'));
}
