/**
 * Hosts on this machine: each a network namespace joined to this one by its own veth link, with
 * an address at each end, so that a test can run a server "on another host", cut its link and
 * put it back, with traffic only on those links. Needs root and `ip` (iproute2).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const ip = '/bin/ip';

/** One host: its namespace, the link to it, and the addresses at either end. */
export interface NetnsHost {
  /** The namespace's name, for `ip netns exec`. */
  namespace: string;
  /** This side's end of the link (the web server's address towards the host). */
  localAddress: string;
  /** The host's own address. */
  address: string;
  /** The link's name on this side. */
  link: string;
}

/** A set of hosts; `remove()` deletes every namespace and link it made. */
export interface NetnsHosts {
  hosts: NetnsHost[];
  /** Cuts host `index` off: its end of the link goes down, and packets to it go nowhere. */
  cut(index: number): void;
  remove(): void;
}

function run(args: string[]): string {
  try {
    return execFileSync(ip, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`netns: ip ${args.join(' ')} failed: ${stderr.trim() || (error as Error).message}`, {
      cause: error,
    });
  }
}

/**
 * Makes `count` hosts in 10.<net>.<i>.0/24 (this side .1, the host .2), with names unique to
 * this process. Throws, naming what failed, where namespaces cannot be made (no root, no
 * iproute2, a container without CAP_NET_ADMIN): the caller fails rather than check less.
 */
export function createNetnsHosts(count: number): NetnsHosts {
  if (!existsSync(ip)) throw new Error('netns: /bin/ip is missing (apt-get install iproute2)');
  if (process.getuid?.() !== 0) throw new Error('netns: making network namespaces needs root');
  const tag = process.pid % 10_000;
  // 10.200-249: a private range unlikely to be routed on a developer's machine.
  const net = 200 + (process.pid % 50);
  const hosts: NetnsHost[] = [];
  const remove = () => {
    for (const host of hosts) {
      // Deleting the namespace deletes its end of the link, and with it this end.
      try {
        run(['netns', 'delete', host.namespace]);
      } catch {
        // Already gone.
      }
    }
  };
  try {
    for (let i = 1; i <= count; i++) {
      const host: NetnsHost = {
        namespace: `fetch-cgi-${tag}-${i}`,
        link: `fcg${tag}h${i}`,
        localAddress: `10.${net}.${i}.1`,
        address: `10.${net}.${i}.2`,
      };
      hosts.push(host);
      const peer = `fcg${tag}n${i}`;
      run(['netns', 'add', host.namespace]);
      run(['link', 'add', host.link, 'type', 'veth', 'peer', 'name', peer, 'netns', host.namespace]);
      run(['addr', 'add', `${host.localAddress}/24`, 'dev', host.link]);
      run(['link', 'set', host.link, 'up']);
      const inside = ['netns', 'exec', host.namespace, ip];
      run([...inside, 'link', 'set', 'lo', 'up']);
      run([...inside, 'addr', 'add', `${host.address}/24`, 'dev', peer]);
      run([...inside, 'link', 'set', peer, 'up']);
    }
  } catch (error) {
    remove();
    throw error;
  }
  return {
    hosts,
    cut(index) {
      const host = hosts[index];
      if (!host) throw new Error(`netns: no host ${index}`);
      // The host's own end goes down: this side still routes to it, and nothing answers, as
      // when a cable or a switch port dies (no refusal, only silence).
      const peer = host.link.replace(/h(\d+)$/, 'n$1');
      run(['netns', 'exec', host.namespace, ip, 'link', 'set', peer, 'down']);
    },
    remove,
  };
}
