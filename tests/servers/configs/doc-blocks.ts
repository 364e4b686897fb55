/**
 * The configuration blocks docs/deploy/*.md embed, generated from the same functions the
 * test servers are configured with, so that the docs show exactly what is tested. A page
 * marks each block as `<!-- generated:NAME -->` ... `<!-- /generated -->`.
 */
import { apacheHtaccess, apacheVhost } from './apache.js';
import { apacheAppSite, apacheFcgidHtaccess } from './apache-persistent.js';
import { lighttpdAppSite } from './lighttpd-persistent.js';
import { nginxAppSite } from './nginx-persistent.js';
import { nginxBalancedSite, systemdServiceUnit, systemdSocketUnit } from './many-hosts.js';
import { appListenCommand, busyboxCommand, miniHttpdCommand, shellCommand, spawnFcgiCommand } from './command-lines.js';
import { lighttpdSite } from './lighttpd.js';
import { fcgiwrapCommand, nginxSite } from './nginx.js';

/** One generated block: the page it belongs on, its code-fence language and its text. */
export interface DocBlock {
  page: string;
  lang: string;
  text: string;
}

const documentRoot = '/var/www/example';
const fcgiwrapSocket = '/run/fcgiwrap/fcgiwrap.sock';
const appSocket = '/run/fetch-cgi/app.sock';
const appScript = '/var/www/example/app.fcgi';
/** A host of docs/deploy/many-hosts.md: the app on 10.0.0.11, nginx on 10.0.0.10. */
const hostUnit = { script: '/srv/app/app.fcgi', listen: '10.0.0.11:9000', webServers: '10.0.0.10' };

/** Every generated block by name. A name may appear on more pages than its own. */
export const docBlocks: Record<string, DocBlock> = {
  'apache-vhost': {
    page: 'apache.md',
    lang: 'apache',
    text: apacheVhost({ address: '*:80', serverName: 'example.com', documentRoot }),
  },
  'apache-htaccess': { page: 'shared-hosting.md', lang: 'apache', text: apacheHtaccess() },
  'lighttpd-site': { page: 'lighttpd.md', lang: 'conf', text: lighttpdSite({ streamResponseBody: true }) },
  'nginx-site': {
    page: 'nginx-fcgiwrap.md',
    lang: 'nginx',
    text: nginxSite({
      listen: '80',
      serverName: 'example.com',
      root: documentRoot,
      socket: fcgiwrapSocket,
      unbuffered: true,
    }),
  },
  'fcgiwrap-command': {
    page: 'nginx-fcgiwrap.md',
    lang: 'sh',
    text: `install -d -o www-data -g www-data /run/fcgiwrap\n${shellCommand(fcgiwrapCommand(fcgiwrapSocket))}\n`,
  },
  'busybox-command': {
    page: 'busybox.md',
    lang: 'sh',
    text: `touch /etc/busybox-httpd.conf\n${shellCommand(busyboxCommand({ address: '0.0.0.0', port: 8080, documentRoot }, '/etc/busybox-httpd.conf'))}\n`,
  },
  'nginx-fastcgi': {
    page: 'fastcgi-nginx.md',
    lang: 'nginx',
    text: nginxAppSite({
      listen: '80',
      serverName: 'example.com',
      protocol: 'fastcgi',
      backend: `unix:${appSocket}`,
      keepConn: true,
      mount: '/app',
    }),
  },
  'nginx-scgi': {
    page: 'fastcgi-nginx.md',
    lang: 'nginx',
    text: nginxAppSite({
      listen: '80',
      serverName: 'example.com',
      protocol: 'scgi',
      backend: `unix:${appSocket}`,
      mount: '/app',
    }),
  },
  'spawn-fcgi-command': {
    page: 'fastcgi-nginx.md',
    lang: 'sh',
    text: `install -d -o www-data -g www-data /run/fetch-cgi
${shellCommand(spawnFcgiCommand(appScript, appSocket))}
`,
  },
  'lighttpd-fastcgi': {
    page: 'fastcgi-lighttpd.md',
    lang: 'conf',
    text: lighttpdAppSite({ protocol: 'fastcgi', socket: appSocket, mount: '/app' }),
  },
  'lighttpd-fastcgi-spawn': {
    page: 'fastcgi-lighttpd.md',
    lang: 'conf',
    text: lighttpdAppSite({ protocol: 'fastcgi', socket: '/run/lighttpd/app.sock', binPath: appScript, mount: '/app' }),
  },
  'lighttpd-scgi': {
    page: 'fastcgi-lighttpd.md',
    lang: 'conf',
    text: lighttpdAppSite({ protocol: 'scgi', socket: appSocket, mount: '/app' }),
  },
  'apache-proxy-fcgi': {
    page: 'fastcgi-apache.md',
    lang: 'apache',
    text: apacheAppSite({ kind: 'proxy-fcgi', backend: `unix:${appSocket}`, mount: '/app' }),
  },
  'apache-proxy-scgi': {
    page: 'fastcgi-apache.md',
    lang: 'apache',
    text: apacheAppSite({ kind: 'proxy-scgi', backend: `unix:${appSocket}`, mount: '/app' }),
  },
  'apache-fcgid': {
    page: 'fastcgi-apache.md',
    lang: 'apache',
    text: apacheAppSite({ kind: 'fcgid', script: appScript, mount: '/app' }),
  },
  'apache-fcgid-htaccess': { page: 'shared-hosting.md', lang: 'apache', text: apacheFcgidHtaccess() },
  'listen-command': {
    page: 'fastcgi-nginx.md',
    lang: 'sh',
    text: `install -d -o www-data -g www-data /run/fetch-cgi
${shellCommand(appListenCommand(appScript, `unix:${appSocket}`))}
`,
  },
  'nginx-balanced': {
    page: 'many-hosts.md',
    lang: 'nginx',
    text: nginxBalancedSite({
      listen: '80',
      serverName: 'example.com',
      backends: ['10.0.0.11:9000', '10.0.0.12:9000', '10.0.0.13:9000'],
      mount: '/app',
      failTimeout: '10s',
      readTimeout: '60s',
    }),
  },
  'systemd-socket': { page: 'many-hosts.md', lang: 'ini', text: systemdSocketUnit(hostUnit) },
  'systemd-service': { page: 'many-hosts.md', lang: 'ini', text: systemdServiceUnit(hostUnit) },
  'mini-httpd-command': {
    page: 'mini_httpd.md',
    lang: 'sh',
    text: `${shellCommand(miniHttpdCommand({ address: '0.0.0.0', port: 8080, documentRoot }, '/var/log/mini_httpd.log'))}\n`,
  },
};

const marker = /(<!-- generated:([\w-]+) -->\n)[\s\S]*?(<!-- \/generated -->)/g;

/** The markdown between the markers of block `name`: a fenced code block. */
export function renderDocBlock(name: string): string {
  const block = docBlocks[name];
  if (!block) throw new Error(`deploy docs: unknown generated block ${JSON.stringify(name)}`);
  return `\`\`\`${block.lang}\n${block.text.trimEnd()}\n\`\`\`\n`;
}

/** `markdown` with every generated block replaced by its current text. */
export function fillDocBlocks(markdown: string): string {
  return markdown.replace(
    marker,
    (_all, open: string, name: string, close: string) => open + renderDocBlock(name) + close,
  );
}

/** Names of the generated blocks `markdown` contains, in order. */
export function docBlockNames(markdown: string): string[] {
  return [...markdown.matchAll(marker)].map((match) => match[2] ?? '');
}
