/**
 * The plain object of a request's meta-variables, made from its names and values in the order
 * they came. Pure, with a small bounded cache.
 *
 * Why a cache: an object given more than a dozen names one by one becomes a hash table in V8,
 * about 1.5 KB for the 20-odd names a web server sends, and the largest piece of garbage a
 * long-lived process makes per request. A web server sends the same names in the same order
 * with every request, so once an order has come twice, its objects come from an object literal
 * of those names, compiled once and given the values (one small allocation, fast properties).
 * A client that varies its headers costs at most a compile every other request, and at most
 * eight orders are kept. Either way the app gets the same thing: an ordinary object with the names in the order
 * they came, a repeated name holding its last value.
 */

/** Orders of names kept, the most recently used first: a site sends one or a few. */
const MAX_SHAPES = 8;
/** Longer lists are not compiled (a hash table is what V8 would make of them anyway). */
const MAX_COMPILED_NAMES = 128;

/** Makes the object of one order of names from the values, in that order. */
type Maker = (values: readonly string[]) => Record<string, string>;

interface Shape {
  readonly names: readonly string[];
  /** Compiled on the second request with these names (a one-off order costs nothing); null when code cannot be generated. */
  make: Maker | null | undefined;
}

const shapes: Shape[] = [];

/** The object of the first `count` names and values: `values[i]` under `names[i]`. */
export function envObject(names: readonly string[], values: readonly string[], count: number): Record<string, string> {
  const make = makerFor(names, count);
  if (make) return make(values);
  const env: Record<string, string> = {};
  for (let index = 0; index < count; index++) env[names[index] as string] = values[index] as string;
  return env;
}

function makerFor(names: readonly string[], count: number): Maker | undefined {
  for (let index = 0; index < shapes.length; index++) {
    const shape = shapes[index] as Shape;
    if (!sameNames(shape.names, names, count)) continue;
    if (index > 0) {
      shapes.splice(index, 1);
      shapes.unshift(shape);
    }
    if (shape.make === undefined) shape.make = compileLiteral(shape.names);
    return shape.make ?? undefined;
  }
  const list = names.slice(0, count);
  if (count <= MAX_COMPILED_NAMES && !list.includes('__proto__')) {
    shapes.unshift({ names: list, make: undefined });
    if (shapes.length > MAX_SHAPES) shapes.pop();
  }
  return undefined;
}

function sameNames(known: readonly string[], names: readonly string[], count: number): boolean {
  if (known.length !== count) return false;
  for (let index = 0; index < count; index++) if (known[index] !== names[index]) return false;
  return true;
}

/**
 * A function returning an object literal of `names`, in order, holding the values at the same
 * places. Not cloned from a template object: V8 gives a literal's objects one map, and adding a
 * name to them (FETCH_CGI_BASE) follows a transition made once, where a clone's map made a new
 * one each time (3 µs and full collections, measured). Without code generation (node
 * --disallow-code-generation-from-strings), objects are made name by name.
 */
function compileLiteral(names: readonly string[]): Maker | null {
  // JSON string literals are JavaScript string literals; '__proto__' never comes here.
  const fields = names.map((name, index) => `${JSON.stringify(name)}: values[${index}]`);
  try {
    return new Function('values', `return {${fields.join(', ')}};`) as Maker;
  } catch {
    return null;
  }
}
