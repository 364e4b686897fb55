import { chmodSync, readFileSync, readlinkSync } from 'node:fs';
import { lookup } from 'node:dns/promises';
import * as net from 'node:net';
import { getSystemErrorName } from 'node:util';
import { describeTarget, type ListenTarget } from '../transports/socket/listen-address.js';
import { removeSocketFile } from '../transports/socket/socket-file.js';

/** A socket bound for workers to share: each inherits `fd`. */
export interface SharedSocket {
  fd: number;
  /** Closes this process's copy, and removes a unix socket's file. */
  close(): void;
}

/** The server handle Node's cluster module binds in the primary: bound, not yet listening. */
interface ServerHandle {
  fd: number;
  close(): void;
}
type CreateServerHandle = (
  address: string,
  port: number,
  addressType: number,
  fd: number | undefined,
  flags: number,
) => ServerHandle | number;

/**
 * Binds `target` without listening on it, as Node's cluster primary does: the workers it is
 * handed to call listen() and accept, and this
 * process never does, so it takes no connection it could not serve. A listening descriptor
 * the process inherited (`fd:N`) is passed on as it is.
 */
export async function bindSharedSocket(target: ListenTarget, socketMode: number): Promise<SharedSocket> {
  if (target.kind === 'fd') return { fd: target.fd, close: () => {} };
  // Not in Node's typings, but exported since Node 0.x and what cluster uses.
  const create = (net as unknown as Record<string, CreateServerHandle>)['_createServerHandle'] as CreateServerHandle;
  let handle: ServerHandle | number;
  if (target.kind === 'unix') {
    removeSocketFile(target.path);
    handle = create(target.path, -1, -1, undefined, 0);
  } else {
    // The handle takes an address, not a name: resolve `localhost` as listen() would.
    const { address, family } = net.isIP(target.host)
      ? { address: target.host, family: net.isIP(target.host) }
      : await lookup(target.host);
    handle = create(address, target.port, family, undefined, 0);
  }
  if (typeof handle === 'number') {
    throw new Error(`fetch-cgi: cannot listen on ${describeTarget(target)}: ${getSystemErrorName(handle)}`);
  }
  if (target.kind === 'unix') chmodSync(target.path, socketMode);
  return {
    fd: handle.fd,
    close() {
      handle.close();
      if (target.kind === 'unix') removeSocketFile(target.path);
    },
  };
}

/**
 * Whether the socket on `fd` is listening yet (a worker has called listen()): until then a
 * client is refused. Read from /proc (Linux); elsewhere, or when /proc says nothing, true.
 */
export function isListening(fd: number): boolean {
  let inode: string | undefined;
  try {
    inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`))?.[1];
  } catch {
    return true;
  }
  if (!inode) return true;
  for (const table of ['unix', 'tcp', 'tcp6']) {
    let text: string;
    try {
      text = readFileSync(`/proc/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (table === 'unix' && fields[6] === inode) return (Number.parseInt(fields[3] ?? '0', 16) & 0x10000) !== 0; // __SO_ACCEPTCON
      if (table !== 'unix' && fields[9] === inode) return fields[3] === '0A'; // TCP_LISTEN
    }
  }
  return true;
}
