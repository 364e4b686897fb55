/**
 * Node builds its fetch classes (Request, Response, Headers, FormData: about 95 internal modules,
 * some 20 ms and 10 MiB) the first time a program touches one. A CGI process pays that on every
 * request, so while serving, the bridge hands the app a lazy request and a light global
 * `Response`, and loads the real classes only when the app really uses one. This module owns
 * the globals: it swaps them, loads the real classes on demand, and then links the light
 * classes' prototypes to the real ones so `instanceof` keeps working.
 */

type Constructor = abstract new (...args: never[]) => object;

interface RealClasses {
  Request: typeof Request;
  Response: typeof Response;
}

interface LightClasses {
  request: Constructor;
  response: Constructor;
  headers: Constructor;
  /** The real Request a light one stands for, so `new Request(light)` and `fetch(light)` work. */
  unwrap(input: unknown): unknown;
}

const LAZY = ['Request', 'Response', 'Headers', 'FormData'] as const;
let originals: Map<string, PropertyDescriptor> | undefined;
let light: LightClasses | undefined;
let real: RealClasses | undefined;

/**
 * Whether the runtime's fetch classes are still unloaded (Node's lazy globals untouched), which
 * is the only case where going light saves anything. False on Bun and Deno.
 */
export function fetchClassesUnloaded(): boolean {
  return LAZY.every((name) => typeof Object.getOwnPropertyDescriptor(globalThis, name)?.get === 'function');
}

/**
 * Makes `classes.response` the global `Response` and defers the real classes until something
 * touches `Request`, `Headers`, `FormData` or calls `fetch`. Call once, and only when
 * {@link fetchClassesUnloaded}.
 */
export function installLightFetch(classes: LightClasses): void {
  if (originals) return;
  light = classes;
  originals = new Map(
    LAZY.map((name) => [name, Object.getOwnPropertyDescriptor(globalThis, name) as PropertyDescriptor]),
  );
  define('Response', classes.response);
  for (const name of ['Request', 'Headers', 'FormData'] as const) {
    Object.defineProperty(globalThis, name, {
      configurable: true,
      enumerable: false,
      get: () => {
        const value = realFetchClasses() && (name === 'Request' ? requestClass() : loadOriginal(name));
        define(name, value);
        return value;
      },
      set: (value: unknown) => {
        define(name, value);
      },
    });
  }
  const originalFetch = globalThis.fetch;
  define('fetch', function fetch(input: RequestInfo | URL, init?: RequestInit) {
    realFetchClasses();
    return originalFetch(classes.unwrap(input) as RequestInfo, init);
  });
}

/** The runtime's real Request and Response, loaded (once) and linked to the light classes. */
export function realFetchClasses(): RealClasses {
  if (real) return real;
  if (!originals || !light) {
    return { Request: globalThis.Request, Response: globalThis.Response };
  }
  const classes: RealClasses = {
    Request: loadOriginal('Request') as typeof Request,
    Response: loadOriginal('Response') as typeof Response,
  };
  real = classes;
  Object.setPrototypeOf(light.headers.prototype, (loadOriginal('Headers') as typeof Headers).prototype);
  Object.setPrototypeOf(light.request.prototype, classes.Request.prototype);
  Object.setPrototypeOf(light.response.prototype, classes.Response.prototype);
  Object.setPrototypeOf(light.response, classes.Response);
  return classes;
}

/** Whether the real classes have been loaded since {@link installLightFetch}. */
export function realFetchLoaded(): boolean {
  return real !== undefined;
}

let unwrappingRequest: typeof Request | undefined;

/** The global `Request` once loaded: the real class, taught to accept a light request. */
function requestClass(): typeof Request {
  if (unwrappingRequest) return unwrappingRequest;
  const { Request: Real } = realFetchClasses();
  const unwrap = (light as LightClasses).unwrap;
  unwrappingRequest = class Request extends Real {
    constructor(input: RequestInfo | URL, init?: RequestInit) {
      super(unwrap(input) as RequestInfo, init);
    }
    static override [Symbol.hasInstance](value: unknown): boolean {
      return Function.prototype[Symbol.hasInstance].call(Real, value);
    }
  };
  return unwrappingRequest;
}

/** Runs Node's own lazy getter, which also redefines the global: ours are put back after. */
function loadOriginal(name: string): unknown {
  const descriptor = originals?.get(name);
  if (!descriptor) return (globalThis as Record<string, unknown>)[name];
  const current = Object.getOwnPropertyDescriptor(globalThis, name);
  const value = descriptor.get ? descriptor.get.call(globalThis) : descriptor.value;
  if (current) Object.defineProperty(globalThis, name, current);
  return value;
}

function define(name: string, value: unknown): void {
  Object.defineProperty(globalThis, name, { configurable: true, enumerable: false, writable: true, value });
}
