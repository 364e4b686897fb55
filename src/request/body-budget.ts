import { bodyEndedEarly, bodyTooLarge } from '../errors.js';

/**
 * The bytes of a request body counted against its length: exactly `length` bytes (the last
 * chunk clipped, what follows on stdin left alone), or, read to EOF, at most `maxBodySize`.
 * Both ways of reading a body (pulled from an iterator, pushed by a Node Readable) count
 * through it, so they give the same bytes and the same errors.
 */
export class BodyBudget {
  #received = 0;
  readonly #limit: number;

  constructor(
    readonly length: number | 'eof',
    readonly maxBodySize: number,
  ) {
    this.#limit = length === 'eof' ? maxBodySize : length;
  }

  /** Whether every byte of a known length was read. */
  get complete(): boolean {
    return this.length !== 'eof' && this.#received === this.length;
  }

  /** `chunk` counted, clipped to the length; throws a 413 past the limit of a body read to EOF. */
  take(data: Uint8Array | string): Uint8Array {
    const chunk = typeof data === 'string' ? Buffer.from(data) : data;
    if (this.#received + chunk.byteLength <= this.#limit) {
      this.#received += chunk.byteLength;
      return chunk;
    }
    if (this.length === 'eof') throw bodyTooLarge(this.maxBodySize);
    const rest = chunk.subarray(0, this.#limit - this.#received);
    this.#received = this.#limit;
    return rest;
  }

  /** The input ended: fine when read to EOF, else a 400 naming both lengths. */
  end(): void {
    if (this.length !== 'eof') throw bodyEndedEarly(this.#received, this.length);
  }
}
