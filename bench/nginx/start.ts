/** Finds nginx and runs one instance of it in the foreground as our child. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { openFiles, start, workPath, type Child } from '../lib/children';
import { freePort, waitForPort } from '../lib/net';
import { nginxConf, type NginxSite } from './conf';

/** The nginx binary on PATH (or in /usr/sbin, where Debian puts it), or null. */
export function findNginx(): string | null {
  return findExecutable('nginx', ['/usr/sbin', '/usr/local/sbin']);
}

export function findExecutable(name: string, extra: string[] = []): string | null {
  for (const dir of [...(process.env.PATH ?? '').split(':'), ...extra]) {
    if (!dir) continue;
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return null;
}

export function nginxVersion(binary: string): string {
  // nginx -v prints "nginx version: nginx/1.22.1" to stderr
  const { stderr } = spawnSync(binary, ['-v'], { encoding: 'utf8' });
  return (stderr ?? '').replace('nginx version:', '').trim() || 'nginx';
}

export interface NginxInstance {
  child: Child;
  port: number;
}

export async function startNginx(
  binary: string,
  name: string,
  site: Omit<NginxSite, 'prefix' | 'port' | 'openFiles'>,
): Promise<NginxInstance> {
  const prefix = workPath(`nginx-${name}`);
  fs.rmSync(prefix, { recursive: true, force: true });
  fs.mkdirSync(path.join(prefix, 'tmp'), { recursive: true });
  const port = await freePort();
  const conf = path.join(prefix, 'nginx.conf');
  fs.writeFileSync(conf, nginxConf({ ...site, prefix, port, openFiles: openFiles() }));
  const child = start(`nginx ${name}`, binary, ['-p', prefix, '-e', path.join(prefix, 'error.log'), '-c', conf]);
  const exited = child.exited.then((code) => {
    const log = fs.existsSync(path.join(prefix, 'error.log')) ? fs.readFileSync(path.join(prefix, 'error.log'), 'utf8') : '';
    throw new Error(`nginx ${name} exited (code ${code}):\n${child.output()}\n${log}`.trim());
  });
  await Promise.race([waitForPort(port, 10_000), exited]);
  exited.catch(() => {});
  return { child, port };
}
