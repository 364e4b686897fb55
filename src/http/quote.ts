// Go's %q in spirit: a value from outside (environment, app, script output) is quoted so that a
// log line stays one visible line. JSON.stringify escapes C0 controls and lone surrogates but not
// DEL, C1 controls, U+2028/U+2029 (line breaks to many log viewers) or bidi overrides that make a
// log line read differently from its bytes.
// Made on first use: creating a regular expression with Unicode property classes costs some
// 0.2 ms, and most requests never quote anything.
let unprintable: RegExp | undefined;

function escape(char: string): string {
  const code = char.codePointAt(0) ?? 0;
  return code > 0xffff ? `\\u{${code.toString(16)}}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** `value` in double quotes, with every control, format or separator character (but space) escaped. */
export function quote(value: string): string {
  return JSON.stringify(value).replace((unprintable ??= /(?! )[\p{C}\p{Z}]/gu), escape);
}
