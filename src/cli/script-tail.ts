/**
 * The tail of a built script: its FastCGI and SCGI part, after the bundle, as a block comment
 * that holds the part's own bundle, brotli-compressed, in base64. A CGI request never reads it
 * (the code-cache loader decodes the file only up to it, other runtimes skip a comment); a
 * process started on a socket decodes and runs it once. So one file serves both ways, and CGI
 * start-up does not grow with the socket code.
 */
import { brotliCompressSync, constants } from 'node:zlib';

/**
 * Where the tail starts: its last occurrence in the file (the loader of the tail holds it too,
 * and a minifier writes the line breaks of a string literal as real ones).
 */
export const TAIL_MARK = '\n/*fetch-cgi:socket-door\n';

/** The tail for `code`, the CommonJS bundle of the socket part. */
export function scriptTail(code: string): string {
  const packed = brotliCompressSync(Buffer.from(code), { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } });
  return `${TAIL_MARK}${packed.toString('base64')}\n*/\n`;
}

/**
 * The module that stands in the bundle for the socket part (transports/socket/serve-process):
 * it reads the running script's tail, and runs the part as a CommonJS module with the bundle's
 * `require`. Plain JavaScript, for esbuild to bundle in its place.
 */
export const TAIL_LOADER = `
import { readFileSync } from 'node:fs';
import { brotliDecompressSync } from 'node:zlib';
const MARK = ${JSON.stringify(TAIL_MARK)};
const data = readFileSync(__filename);
const start = data.lastIndexOf(MARK);
const end = data.lastIndexOf('\\n*/');
if (start < 0 || end < start) {
  throw new Error('fetch-cgi: ' + __filename + ' has no FastCGI and SCGI part: build it again with fetch-cgi build');
}
const code = brotliDecompressSync(Buffer.from(data.toString('latin1', start + MARK.length, end), 'base64')).toString('utf8');
const part = { exports: {} };
new Function('exports', 'require', 'module', '__filename', '__dirname', code + '\\n//# sourceURL=' + __filename + '#fastcgi')(
  part.exports, require, part, __filename, __dirname);
export const listenTargetFromEnvironment = part.exports.listenTargetFromEnvironment;
export const serveProcess = part.exports.serveProcess;
`;
