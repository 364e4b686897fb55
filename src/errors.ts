import { quote } from './http/quote.js';

/**
 * A meta-variable the server set is malformed. The message names the variable and quotes its
 * value, as Go's `cgi: bad CONTENT_LENGTH in environment: "abc"` does.
 */
export class CgiEnvError extends Error {
  override name = 'CgiEnvError';
  /** HTTP status the bridge answers with when this error stops a request. */
  readonly status: number;
  constructor(
    readonly variable: string,
    readonly value: string,
    reason = 'malformed',
    status = 400,
  ) {
    super(`fetch-cgi: ${reason} ${variable} in environment: ${quote(value)}`);
    this.status = status;
  }
}

/** The request body from the server was shorter than CONTENT_LENGTH, or too large. */
export class CgiBodyError extends Error {
  override name = 'CgiBodyError';
  constructor(
    message: string,
    readonly status: number,
    options?: ErrorOptions,
  ) {
    super(`fetch-cgi: ${message}`, options);
  }
}

/** stdin failed while the body was read. */
export const bodyUnreadable = (cause: unknown) =>
  new CgiBodyError('request body could not be read from stdin', 400, { cause });

/** stdin ended before CONTENT_LENGTH bytes. */
export const bodyEndedEarly = (received: number, length: number) =>
  new CgiBodyError(`request body ended after ${received} of ${length} bytes (CONTENT_LENGTH)`, 400);

/** A body read to EOF grew past the limit. */
export const bodyTooLarge = (maxBodySize: number) =>
  new CgiBodyError(`request body larger than the ${maxBodySize}-byte limit`, 413);

/** A CGI script's output is not a valid CGI response (RFC 3875 section 6). */
export class CgiResponseError extends Error {
  override name = 'CgiResponseError';
  constructor(message: string, options?: ErrorOptions) {
    super(`fetch-cgi: malformed CGI response: ${message}`, options);
  }
}
