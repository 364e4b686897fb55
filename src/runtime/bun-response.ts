let installed = false;

/**
 * Bun's `new Response('text')` carries an implied `text/plain;charset=UTF-8` without listing it
 * in `response.headers`, and its `Response.json()` says `application/json;charset=utf-8`; Node,
 * Deno and the fetch standard list `text/plain;charset=UTF-8` and say `application/json`. Since
 * the bridge writes what `headers` lists, it makes Bun's global Response list the same, so a
 * script's output does not depend on the runtime. A Proxy keeps `instanceof` and subclassing
 * working for responses Bun creates itself (`fetch()`).
 */
export function alignBunResponse(): void {
  if (installed || typeof (globalThis as { Bun?: unknown }).Bun === 'undefined') return;
  installed = true;
  const Native = globalThis.Response;
  const json = (data: unknown, init: ResponseInit = {}) => {
    const headers = new Headers(init.headers);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    return new globalThis.Response(JSON.stringify(data), { ...init, headers });
  };
  globalThis.Response = new Proxy(Native, {
    construct(target, args: [BodyInit | null | undefined, ResponseInit | undefined], newTarget) {
      const response = Reflect.construct(target, args, newTarget) as Response;
      if (typeof args[0] === 'string' && !response.headers.has('content-type')) {
        response.headers.set('content-type', 'text/plain;charset=UTF-8');
      }
      return response;
    },
    get: (target, key, receiver) => (key === 'json' ? json : Reflect.get(target, key, receiver)),
  });
}
