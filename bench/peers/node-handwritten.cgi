#!/usr/bin/env node
// A hand-written Node CGI that never touches Request or Response: the floor for a Node bridge.
process.stdout.write('Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nHello');
