import { createHash } from 'node:crypto';
import { TAIL_MARK } from './script-tail.js';

/** The line after the loader: it ends the file as a CommonJS module, before the bundle. */
export const BUNDLE_FENCE = 'return;';

/** How many requests write the cache: the first, and the next ones that add what they compiled. */
export const CACHE_GENERATIONS = 4;

/**
 * The shebang's code for a script with the loader: it reads the script into a buffer and
 * evaluates its second line, the loader, which finds the buffer in scope; only that line is
 * ever parsed on the way in. The file is not made one string: V8 puts a string over 128 KiB in
 * its large-object space, about half a millisecond a start, and the file can be larger than
 * the bundle (the FastCGI and SCGI part after it, see script-tail.ts). The loader line must
 * lie within the first {@link LOADER_WINDOW} bytes. Written for both ways a shebang reaches
 * node: `env -S` turns the `\n` into a newline, which a template literal reads as the same
 * string, and a direct interpreter passes it as it is. No spaces or quotes, which `env -S` would
 * split or strip; 97 bytes, so that `#!/usr/bin/env -S node` and it stay under the 127 bytes of
 * a shebang old kernels read.
 */
export const LOADER_EVAL =
  '--eval=(b=>eval((b.slice(0,8e3)+``).split(`\\n`)[1]))(require(`fs`).readFileSync(process.argv[1]))';

/** The bytes of the file that the shebang's code decodes to find the loader line in. */
export const LOADER_WINDOW = 8000;

/**
 * The loader, CommonJS source written on one line: it compiles the bundle that follows it with
 * V8's code cache and runs it as a CommonJS module. Run by the shebang's `--eval`, it gets the
 * script's bytes and makes Node's `[eval]` module the script's; run as a module
 * (`node app.cgi`, `require()`), it reads the file, and the `return;` after it keeps the bundle
 * from running twice. Every step is on the path of each request, so it does the least it can:
 * the bundle is decoded from the bytes read once, up to the script's tail (the FastCGI and SCGI
 * part, which a CGI request never decodes), and on a hit one stat of the script and one open,
 * fstat and read of the cache file, named after the script's path so that a rebuild replaces
 * its entry; entries older than 30 days are removed when one is written. The cache is made on
 * the first run (after the response, so it holds the functions the request used) and made again
 * after each of the next few (each time keeping what it held and adding what that request
 * compiled: a first run that was no typical request, a HEAD, an error, a try from the shell,
 * would otherwise leave a poor cache for good), in a private folder of the user's; a file is
 * used only if it is the user's own, writable by no one else, and its first line names this
 * very build, file and Node: V8 checks little more than a source's length. FETCH_CGI_CODE_CACHE=0
 * turns it off. No line comments: the lines are joined.
 */
const LOADER = String.raw`/* fetch-cgi: this line compiles the bundle below with V8's code cache (kept per user in the temp folder); rebuild with --no-code-cache for a plain bundle, or set FETCH_CGI_CODE_CACHE=0. */
(function (build, lineOffset, data) {
  "use strict";
  var fs = require("fs"), vm = require("vm"), file = __filename, folder;
  if (file === "[eval]") {
    /* The [eval] module becomes the script's, so that its require() resolves from the script's folder. */
    file = require("path").resolve(process.argv[1]);
    module.id = module.filename = file;
    module.path = file.slice(0, file.lastIndexOf("/")) || "/";
    module.paths = module.constructor._nodeModulePaths(module.path);
  } else data = fs.readFileSync(file);
  folder = file.slice(0, file.lastIndexOf("/")) || "/";
  var end = data.lastIndexOf("%TAIL%");
  var source = data.toString("utf8", data.indexOf("\n%FENCE%\n") + %FENCE_LENGTH%, end < 0 ? data.length : end);
  var uid = typeof process.getuid === "function" ? process.getuid() : -1, dir, cacheFile, id, cached, generation = 0;
  if (process.env.FETCH_CGI_CODE_CACHE !== "0" && uid !== -1) {
    dir = (process.env.TMPDIR || "/tmp") + "/fetch-cgi-cache-" + uid;
    for (var i = 0, h1 = 0x811c9dc5, h2 = 0x01000193; i < file.length; i++) {
      h1 = Math.imul(h1 ^ file.charCodeAt(i), 0x01000193) >>> 0;
      h2 = Math.imul(h2 ^ file.charCodeAt(i), 0x5bd1e995) >>> 0;
    }
    cacheFile = dir + "/" + h1.toString(16) + h2.toString(16);
    var info = fs.statSync(file);
    id = [build, info.size, Math.floor(info.mtimeMs), process.version, process.arch].join(" ") + " ";
    try {
      var cfd = fs.openSync(cacheFile, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
      try {
        var mine = fs.fstatSync(cfd);
        /* Only a file of our own that no one else could have written: V8 runs cached code as it finds it. */
        if (mine.uid === uid && (mine.mode & 18) === 0 && mine.size > id.length) {
          var data = fs.readFileSync(cfd), end = data.indexOf(10);
          if (end > id.length && data.toString("latin1", 0, id.length) === id) {
            generation = Number(data.toString("latin1", id.length, end)) || 0;
            cached = data.subarray(end + 1);
          }
        }
      } finally { fs.closeSync(cfd); }
    } catch (error) {}
  }
  var options = { filename: file, lineOffset: lineOffset };
  if (cached) options.cachedData = cached;
  var script = new vm.Script(source, options);
  var fresh = !cached || script.cachedDataRejected;
  if (cacheFile && (fresh || generation < %GENERATIONS%)) {
    process.once("exit", function () {
      /* Said once per build, here where nothing is on the clock, and after the bridge made fd 2 safe. */
      var costs = { NODE_EXTRA_CA_CERTS: "node loads those certificates on every start, about 40 ms a request",
        NODE_OPTIONS: "node applies them on every start: a V8 flag costs about 1 ms a request, --require or --import far more" };
      if (fresh) Object.keys(costs).forEach(function (name) {
        if (process.env[name]) try { fs.writeSync(2, "fetch-cgi: " + name + "=" + JSON.stringify(process.env[name]) + " is set for this script: " + costs[name] + "; remove it from the web server's configuration unless the app needs it (said once per build)\n"); } catch (error) {}
      });
      try {
        try { fs.mkdirSync(dir, { mode: 448 }); } catch (error) { if (error.code !== "EEXIST") throw error; }
        var owner = fs.lstatSync(dir);
        if (!owner.isDirectory() || owner.uid !== uid || (owner.mode & 63) !== 0) return;
        var temporary = cacheFile + "." + process.pid;
        var header = id + (fresh ? 1 : generation + 1) + "\n";
        fs.writeFileSync(temporary, Buffer.concat([Buffer.from(header, "latin1"), script.createCachedData()]), { mode: 384 });
        fs.renameSync(temporary, cacheFile);
        /* Entries of scripts that were moved or deleted go a month after they were written; reading
           one leaves its date alone (a hit past the first few costs no write), so a script in use
           writes its entry again. */
        var now = Date.now();
        fs.readdirSync(dir).forEach(function (name) {
          try { if (now - fs.statSync(dir + "/" + name).mtimeMs > 2592e6) fs.unlinkSync(dir + "/" + name); } catch (error) {}
        });
      } catch (error) {}
    });
  }
  script.runInThisContext().call(module.exports, module.exports, require, module, file, folder);
})(%ARGS%, __filename === "[eval]" ? b : undefined);
`;

/**
 * A built script's body with the code-cache loader in front of `bundle` (CommonJS source): what
 * follows the shebang, which must be `--eval` of {@link LOADER_EVAL}. Lines: the shebang, the
 * loader, the fence, then the bundle in a CommonJS wrapper. Node-only: Bun and Deno have caches
 * of their own.
 */
export function withCodeCacheLoader(bundle: string): string {
  const build = createHash('sha256').update(bundle).digest('hex').slice(0, 16);
  // The bundle's wrapper starts on line 3 (from 0), so stack traces give the file's own lines.
  const loader = LOADER.split('\n')
    .map((line) => line.trim())
    .join(' ')
    .trim()
    .replaceAll('%FENCE%', BUNDLE_FENCE)
    .replace('%FENCE_LENGTH%', String(BUNDLE_FENCE.length + 2))
    .replace('%GENERATIONS%', String(CACHE_GENERATIONS))
    .replace('%TAIL%', TAIL_MARK.replaceAll('\n', '\\n'))
    .replace('%ARGS%', `${JSON.stringify(build)}, 3`);
  return `${loader}\n${BUNDLE_FENCE}\n(function (exports, require, module, __filename, __dirname) {\n${bundle}\n})\n`;
}
