/**
 * The app each host of the many-hosts test runs. It names its host (HOST_NAME) in every answer;
 * `POST /orders` appends the body, an order id, to the host's ledger file in LEDGER_DIR before it
 * answers, so the test can count how often each order was applied. `?wait=ms` holds the answer
 * (after the ledger line, for a POST), so that requests are in flight when a host goes away.
 */
import { appendFileSync } from 'node:fs';

export default async (request: Request): Promise<Response> => {
  const url = new URL(request.url);
  const host = process.env.HOST_NAME ?? 'unnamed';
  const wait = Number(url.searchParams.get('wait') ?? 0);
  let body = host;
  let status = 200;
  if (request.method === 'POST' && url.pathname === '/orders') {
    const order = await request.text();
    appendFileSync(`${process.env.LEDGER_DIR}/${host}.log`, `${order}\n`);
    body = `${order} ${host}`;
    status = 201;
  }
  if (wait) await new Promise((resolve) => setTimeout(resolve, wait));
  return new Response(body, { status });
};
