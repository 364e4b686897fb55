/**
 * A tRPC v11 router behind its fetch adapter, `fetchRequestHandler`, at `/trpc`.
 * `fetch-cgi build examples/trpc/app.ts` makes it a CGI script.
 */
import { initTRPC } from '@trpc/server';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { z } from 'zod';

const t = initTRPC.create();

export const appRouter = t.router({
  greet: t.procedure
    .input(z.object({ name: z.string() }))
    .query(({ input }) => ({ greeting: `Hello, ${input.name}!` })),
  add: t.procedure.input(z.object({ a: z.number(), b: z.number() })).mutation(({ input }) => input.a + input.b),
});

/** The router's type, for a typed client. */
export type AppRouter = typeof appRouter;

export default {
  fetch: (request: Request) => fetchRequestHandler({ endpoint: '/trpc', req: request, router: appRouter }),
};
