#!/usr/bin/env node
// The baseline for streaming out: 1 GiB (or STREAM_BYTES) in 64 KiB writes to stdout, waiting
// for 'drain' whenever write() says the buffer is full.
const total = Number(process.env.STREAM_BYTES ?? 2 ** 30);
const chunk = Buffer.alloc(64 * 1024, 0x61);
process.stdout.write('Status: 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n');
let sent = 0;
function pump() {
  while (sent < total) {
    sent += chunk.length;
    if (!process.stdout.write(chunk)) return process.stdout.once('drain', pump);
  }
}
pump();
