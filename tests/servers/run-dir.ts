import { execFileSync } from 'node:child_process';
import { chmod, chown, copyFile, mkdir, mkdtemp, realpath } from 'node:fs/promises';
import { join } from 'node:path';

/** The PATH every server (and so every CGI) starts with; nothing else is inherited. */
export const serverPath = '/usr/local/bin:/usr/bin:/bin';

const id = (flag: string) => Number(execFileSync('/usr/bin/id', [flag, 'www-data'], { encoding: 'utf8' }).trim());

/** uid and gid of www-data, the user every set-up runs its CGI scripts as. */
export function wwwData(): { uid: number; gid: number } {
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch (cause) {
    throw new Error('servers: user www-data does not exist; run scripts/install-servers.sh', { cause });
  }
}

/**
 * A fresh private run directory under /tmp, mode 755 so that www-data can reach the
 * scripts (never under /root, whose mode keeps it out):
 * `docroot/cgi-bin/` (scripts), `logs/`, `tmp/` (uploads, temp files) and `rt/` (pid
 * files, sockets), the last three owned by www-data.
 */
export async function createRunDir(kind: string): Promise<string> {
  // realpath: servers report resolved paths (SCRIPT_FILENAME); keep ours the same.
  const runDir = await realpath(await mkdtemp(join('/tmp', `fetch-cgi-${kind}-`)));
  await chmod(runDir, 0o755);
  const { uid, gid } = wwwData();
  for (const dir of ['docroot', 'docroot/cgi-bin', 'logs', 'tmp', 'rt']) {
    await mkdir(join(runDir, dir), { mode: 0o755 });
    await chmod(join(runDir, dir), 0o755);
  }
  for (const dir of ['logs', 'tmp', 'rt']) await chown(join(runDir, dir), uid, gid);
  return runDir;
}

/**
 * Copies each script into `dir` with mode 755 (a copy, not a symlink: some servers
 * resolve symlinks into SCRIPT_FILENAME, and www-data must be able to read the target),
 * then checks that www-data can read and execute every copy.
 */
export async function installScripts(dir: string, scripts: Record<string, string>): Promise<void> {
  for (const [name, source] of Object.entries(scripts)) {
    if (name.includes('/') || name === '' || name.startsWith('.')) {
      throw new Error(`servers: bad script file name ${JSON.stringify(name)}`);
    }
    const target = join(dir, name);
    await copyFile(source, target);
    await chmod(target, 0o755);
    assertWwwDataCanRun(target);
  }
}

/** Throws a clear error unless www-data can read and execute `file` (and reach its directory). */
export function assertWwwDataCanRun(file: string): void {
  try {
    execFileSync(
      '/usr/bin/setpriv',
      [
        '--reuid=www-data',
        '--regid=www-data',
        '--clear-groups',
        '/bin/sh',
        '-c',
        'test -r "$1" && test -x "$1"',
        'sh',
        file,
      ],
      { stdio: 'ignore', env: { PATH: serverPath } },
    );
  } catch (cause) {
    throw new Error(
      `servers: www-data cannot read and execute ${file}; every parent directory must be searchable by www-data`,
      { cause },
    );
  }
}
