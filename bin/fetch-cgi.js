#!/usr/bin/env node
// The published CLI runs the compiled dist/; in a checkout, build first (npm run build) or run
// `node --import tsx src/cli/main.ts` as the tests do.
try {
  const { runFromProcess } = await import('../dist/cli/main.js');
  await runFromProcess();
} catch (error) {
  if (error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/cli/main.js')) {
    process.stderr.write('fetch-cgi: dist/ is missing; run `npm run build` first\n');
    process.exitCode = 1;
  } else throw error;
}
