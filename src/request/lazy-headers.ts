import { sortedByName } from '../http/syntax.js';

/**
 * A lazy request's headers: reads (`get`, `has`, iteration) answer from the fields the
 * environment gave, without the runtime's Headers class; the first change (`set`, `append`,
 * `delete`) builds the real request's headers, and from then on every call goes to them. Once
 * the real classes are loaded, `instanceof Headers` holds.
 */
export class LazyHeaders {
  readonly #fields: Map<string, string>;
  readonly #materialize: () => Headers;
  #real: Headers | undefined;

  constructor(fields: readonly [string, string][], materialize: () => Headers) {
    // Sorted, as Headers iterates; the names are lower-case and unique already.
    this.#fields = new Map(sortedByName(fields));
    this.#materialize = materialize;
  }

  get [Symbol.toStringTag](): string {
    return 'Headers';
  }

  get(name: string): string | null {
    if (this.#real) return this.#real.get(name);
    return this.#fields.get(String(name).toLowerCase()) ?? null;
  }

  has(name: string): boolean {
    if (this.#real) return this.#real.has(name);
    return this.#fields.has(String(name).toLowerCase());
  }

  getSetCookie(): string[] {
    if (this.#real) return this.#real.getSetCookie();
    const cookie = this.#fields.get('set-cookie');
    return cookie === undefined ? [] : [cookie];
  }

  forEach(callback: (value: string, name: string, headers: LazyHeaders) => void, thisArg?: unknown): void {
    for (const [name, value] of this.entries()) callback.call(thisArg, value, name, this);
  }

  *entries(): IterableIterator<[string, string]> {
    yield* this.#real ? this.#real.entries() : this.#fields.entries();
  }

  *keys(): IterableIterator<string> {
    for (const [name] of this.entries()) yield name;
  }

  *values(): IterableIterator<string> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }

  set(name: string, value: string): void {
    this.#changeable().set(name, value);
  }

  append(name: string, value: string): void {
    this.#changeable().append(name, value);
  }

  delete(name: string): void {
    this.#changeable().delete(name);
  }

  #changeable(): Headers {
    this.#real ??= this.#materialize();
    return this.#real;
  }
}
