/** Ids below this are kept in a list: web servers use one or a few small ids (nginx, Apache: 1). */
const LISTED_IDS = 256;

/**
 * A connection's open requests by id. A Map that fills and empties once a request, as a
 * kept-alive connection's does, gets a new hash table each time (V8 shrinks it on delete); a
 * list indexed by id is kept instead. Ids a multiplexing client picks past the list go in a Map.
 */
export class RequestTable<T> {
  readonly #listed: (T | undefined)[] = [];
  #mapped: Map<number, T> | undefined;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get(id: number): T | undefined {
    return id < LISTED_IDS ? this.#listed[id] : this.#mapped?.get(id);
  }

  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  set(id: number, value: T): void {
    if (!this.has(id)) this.#size += 1;
    if (id < LISTED_IDS) this.#listed[id] = value;
    else (this.#mapped ??= new Map()).set(id, value);
  }

  /** Removes `id`; whether it was there. */
  delete(id: number): boolean {
    if (!this.has(id)) return false;
    this.#size -= 1;
    if (id < LISTED_IDS) this.#listed[id] = undefined;
    else this.#mapped?.delete(id);
    return true;
  }

  /** The open requests, in id order for the listed ones: a copy, safe to change the table while going through it. */
  values(): T[] {
    const values: T[] = [];
    if (this.#size === 0) return values;
    for (const value of this.#listed) if (value !== undefined) values.push(value);
    if (this.#mapped) values.push(...this.#mapped.values());
    return values;
  }
}
