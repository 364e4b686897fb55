import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The bench/ folder. */
export const benchDir = dirname(fileURLToPath(import.meta.url));
/** The repository root. */
export const repoDir = dirname(benchDir);
/**
 * Where the built variants go. Inside the repository so that the ESM variant resolves `hono`
 * from node_modules; ignored by git (`.tmp/`).
 */
export const workDir = join(benchDir, '.tmp');
/** The Bun binary the devDependency ships. */
export const bunPath = join(repoDir, 'node_modules/@oven/bun-linux-x64/bin/bun');
