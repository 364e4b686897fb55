import { createHash } from 'node:crypto';

/** The line that separates the loader from the bundle in a built script. */
export const BUNDLE_MARKER = '//#fetch-cgi-bundle';

/**
 * The loader, as CommonJS source: it reads the bundle that follows it as line comments,
 * compiles it with V8's code cache and runs it as a CommonJS module. The cache is made on the
 * first run (after the response, so it holds the functions the request used) and kept per user
 * in the temp folder, as `module.enableCompileCache()` does on Node 22; a cache from another
 * build, file or Node version is never read. FETCH_CGI_CODE_CACHE=0 turns it off.
 */
const LOADER = String.raw`"use strict";
// fetch-cgi: the app is bundled below as line comments, so that require() only skims it; this
// loader compiles it with V8's code cache (kept per user in the temp folder). Rebuild with
// "fetch-cgi build --no-code-cache" for a plain bundle, or set FETCH_CGI_CODE_CACHE=0.
(function (hash) {
  var fs = require("fs"), vm = require("vm");
  var text = fs.readFileSync(__filename, "utf8");
  var at = text.indexOf("\n%MARKER%\n");
  var lineOffset = text.slice(0, at).split("\n").length + 1;
  var source = text.slice(at + %MARKER_LENGTH%).replace(/^\/\//gm, "");
  var cacheFile, cached;
  if (process.env.FETCH_CGI_CODE_CACHE !== "0" && typeof process.getuid === "function") {
    try {
      var dir = (process.env.TMPDIR || "/tmp") + "/fetch-cgi-cache-" + process.getuid();
      try { fs.mkdirSync(dir, { mode: 448 }); } catch (error) { if (error.code !== "EEXIST") throw error; }
      var info = fs.lstatSync(dir);
      // Only a private folder of our own: V8 runs cached code as it finds it.
      if (info.isDirectory() && info.uid === process.getuid() && (info.mode & 63) === 0) {
        var stat = fs.statSync(__filename);
        cacheFile = dir + "/" + hash + "-" + stat.size + "-" + Math.floor(stat.mtimeMs) + "-" + process.version + "-" + process.arch;
        try { cached = fs.readFileSync(cacheFile); } catch (error) {}
      }
    } catch (error) { cacheFile = undefined; }
  }
  var options = { filename: __filename, lineOffset: lineOffset };
  if (cached) options.cachedData = cached;
  var script = new vm.Script("(function (exports, require, module, __filename, __dirname) {" + source + "\n})", options);
  if (cacheFile && (!cached || script.cachedDataRejected)) {
    process.once("exit", function () {
      try {
        var temporary = cacheFile + "." + process.pid;
        fs.writeFileSync(temporary, script.createCachedData(), { mode: 384 });
        fs.renameSync(temporary, cacheFile);
      } catch (error) {}
    });
  }
  script.runInThisContext().call(module.exports, module.exports, require, module, __filename, __dirname);
})(%HASH%);
`;

/**
 * A built script's body with the code-cache loader in front of `bundle` (CommonJS source):
 * what follows the shebang. Node-only: Bun and Deno have caches of their own.
 */
export function withCodeCacheLoader(bundle: string): string {
  const hash = createHash('sha256').update(bundle).digest('hex').slice(0, 16);
  const loader = LOADER.replaceAll('%MARKER%', BUNDLE_MARKER)
    .replace('%MARKER_LENGTH%', String(BUNDLE_MARKER.length + 2))
    .replace('%HASH%', JSON.stringify(hash));
  const commented = bundle.replace(/^/gm, '//');
  return `${loader}${BUNDLE_MARKER}\n${commented}\n`;
}
