#!/usr/bin/env node
// The baseline for streaming in: count stdin with `for await`, answer with the byte count.
let bytes = 0;
(async () => {
  for await (const chunk of process.stdin) bytes += chunk.length;
  process.stdout.write(`Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n${bytes}`);
})();
