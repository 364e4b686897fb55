import { createHash } from 'node:crypto';

/** The line that opens the block comment holding the bundle in a built script. */
export const BUNDLE_MARKER = '/*#fetch-cgi-bundle';

/** How many requests write the cache: the first, and the next ones that add what they compiled. */
export const CACHE_GENERATIONS = 4;

/**
 * The loader, as CommonJS source: it reads the bundle that follows it in a block comment,
 * compiles it with V8's code cache and runs it as a CommonJS module. Every step is on the path
 * of each request, so it does the least it can: one read of the script (the bundle is one
 * slice of it: a block comment costs the parser one scan and the loader no un-commenting), and on
 * a hit one open, fstat and read of the cache file, named after the script's path so that a
 * rebuild replaces its entry; entries older than 30 days are removed when one is written. The
 * cache is made on the first run (after the response, so it holds the functions the request
 * used) and made again after each of the next few (each time keeping what it held and adding
 * what that request compiled: a first run that was no typical request, a HEAD, an error, a try
 * from the shell, would otherwise leave a poor cache for good), in a private folder of the
 * user's; a file is used only
 * if it is the user's own, writable by no one else, and its first line names this very build,
 * file and Node: V8 checks little more than a source's length. FETCH_CGI_CODE_CACHE=0 turns it
 * off.
 */
const LOADER = String.raw`"use strict";
// fetch-cgi: the app is bundled below in a comment, so that require() only skims it; this loader
// compiles it with V8's code cache (kept per user in the temp folder). Rebuild with
// "fetch-cgi build --no-code-cache" for a plain bundle, or set FETCH_CGI_CODE_CACHE=0.
(function (build, escaped, lineOffset) {
  var fs = require("fs"), vm = require("vm");
  var text = fs.readFileSync(__filename, "utf8");
  var source = text.slice(text.indexOf("\n%MARKER%\n") + %MARKER_LENGTH%, text.lastIndexOf("*/"));
  if (escaped) source = source.replaceAll(escaped, "*/");
  var uid = typeof process.getuid === "function" ? process.getuid() : -1, dir, cacheFile, id, cached, generation = 0;
  if (process.env.FETCH_CGI_CODE_CACHE !== "0" && uid !== -1) {
    dir = (process.env.TMPDIR || "/tmp") + "/fetch-cgi-cache-" + uid;
    for (var i = 0, h1 = 0x811c9dc5, h2 = 0x01000193; i < __filename.length; i++) {
      h1 = Math.imul(h1 ^ __filename.charCodeAt(i), 0x01000193) >>> 0;
      h2 = Math.imul(h2 ^ __filename.charCodeAt(i), 0x5bd1e995) >>> 0;
    }
    cacheFile = dir + "/" + h1.toString(16) + h2.toString(16);
    var info = fs.statSync(__filename);
    id = [build, info.size, Math.floor(info.mtimeMs), process.version, process.arch].join(" ") + " ";
    try {
      var cfd = fs.openSync(cacheFile, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
      try {
        var own = fs.fstatSync(cfd);
        // Only a file of our own that no one else could have written: V8 runs cached code as it finds it.
        if (own.uid === uid && (own.mode & 18) === 0 && own.size > id.length) {
          var data = fs.readFileSync(cfd), end = data.indexOf(10);
          if (end > id.length && data.toString("latin1", 0, id.length) === id) {
            generation = Number(data.toString("latin1", id.length, end)) || 0;
            cached = data.subarray(end + 1);
          }
        }
      } finally { fs.closeSync(cfd); }
    } catch (error) {}
  }
  var options = { filename: __filename, lineOffset: lineOffset };
  if (cached) options.cachedData = cached;
  var script = new vm.Script("(function (exports, require, module, __filename, __dirname) {" + source + "\n})", options);
  var fresh = !cached || script.cachedDataRejected;
  if (cacheFile && (fresh || generation < %GENERATIONS%)) {
    process.once("exit", function () {
      // Said once per build, here where nothing is on the clock, and after the bridge made fd 2 safe.
      var costs = { NODE_EXTRA_CA_CERTS: "node loads those certificates on every start, about 40 ms a request",
        NODE_OPTIONS: "node applies them on every start: a V8 flag costs about 1 ms a request, --require or --import far more" };
      if (fresh) Object.keys(costs).forEach(function (name) {
        if (process.env[name]) try { fs.writeSync(2, "fetch-cgi: " + name + "=" + JSON.stringify(process.env[name]) + " is set for this script: " + costs[name] + "; remove it from the web server's configuration unless the app needs it (said once per build)\n"); } catch (error) {}
      });
      try {
        try { fs.mkdirSync(dir, { mode: 448 }); } catch (error) { if (error.code !== "EEXIST") throw error; }
        var folder = fs.lstatSync(dir);
        if (!folder.isDirectory() || folder.uid !== uid || (folder.mode & 63) !== 0) return;
        var temporary = cacheFile + "." + process.pid;
        var header = id + (fresh ? 1 : generation + 1) + "\n";
        fs.writeFileSync(temporary, Buffer.concat([Buffer.from(header, "latin1"), script.createCachedData()]), { mode: 384 });
        fs.renameSync(temporary, cacheFile);
        // Entries of scripts that were moved or deleted go a month after they were written; reading
        // one leaves its date alone (a hit past the first few costs no write), so a script in use
        // writes its entry again.
        var now = Date.now();
        fs.readdirSync(dir).forEach(function (name) {
          try { if (now - fs.statSync(dir + "/" + name).mtimeMs > 2592e6) fs.unlinkSync(dir + "/" + name); } catch (error) {}
        });
      } catch (error) {}
    });
  }
  script.runInThisContext().call(module.exports, module.exports, require, module, __filename, __dirname);
})(%ARGS%);
`;

/**
 * A built script's body with the code-cache loader in front of `bundle` (CommonJS source): what
 * follows the shebang, whose one line `lineOffset` accounts for. Node-only: Bun and Deno have
 * caches of their own.
 */
export function withCodeCacheLoader(bundle: string): string {
  const build = createHash('sha256').update(bundle).digest('hex').slice(0, 16);
  // The comment must not end early: every "*/" of the bundle is written as "*<escape>/", with an
  // escape the bundle does not contain, and restored by the loader.
  let escape = '';
  if (bundle.includes('*/')) {
    let n = 0;
    while (bundle.includes(`*fetch-cgi-${n}/`)) n += 1;
    escape = `*fetch-cgi-${n}/`;
  }
  const body = escape ? bundle.replaceAll('*/', escape) : bundle;
  const loaderLines = LOADER.split('\n').length - 1;
  const args = [JSON.stringify(build), JSON.stringify(escape), 1 + loaderLines + 1];
  const loader = LOADER.replaceAll('%MARKER%', BUNDLE_MARKER)
    .replace('%MARKER_LENGTH%', String(BUNDLE_MARKER.length + 2))
    .replace('%GENERATIONS%', String(CACHE_GENERATIONS))
    .replace('%ARGS%', args.join(', '));
  return `${loader}${BUNDLE_MARKER}\n${body}\n*/\n`;
}
