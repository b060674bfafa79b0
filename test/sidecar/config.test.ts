// Configuration of the sidecar: file (YAML/JSON) < environment < flags, validated at start.
import path from 'node:path';
import { loadCommand } from '../../packages/cli/src/config/load';
import type { SidecarConfig } from '../../packages/cli/src/config/keys';
import { request } from '../helpers/client';
import { upstream, type Running } from '../helpers/servers';
import { runToExit, startSidecar, tempDir, writeConfig } from './helpers/sidecar-process';

function load(argv: string[], env: Record<string, string> = {}): SidecarConfig {
  const command = loadCommand(argv, env);
  if (command.kind !== 'run') throw new Error(`expected a run command, got ${command.kind}`);
  return command.config;
}

function refusal(argv: string[], env: Record<string, string> = {}): string {
  try {
    loadCommand(argv, env);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('the configuration was accepted');
}

describe('sidecar configuration', () => {
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());

  describe('sources and precedence', () => {
    const yaml = () =>
      writeConfig(
        tmp.dir,
        'handoff.yaml',
        [
          'backend: http://127.0.0.1:3000',
          'listen: 0.0.0.0:8081',
          'concurrency: 8',
          'queueTimeout: 2s',
          'maxBodySize: 1m',
          'offload:',
          '  allow: [https://files.example, "http://10.0.0.5:8080"]',
          '  accel:',
          '    /internal/: http://files.internal/protected/',
          `  sendfileRoots: [${JSON.stringify(tmp.dir)}]`,
          '  keepHeaders: [Set-Cookie, cache-control]',
        ].join('\n'),
      );

    it('reads every key from a YAML file, with units and nested offload rules', () => {
      const config = load(['--config', yaml()]);
      expect(config.backend.href).toBe('http://127.0.0.1:3000/');
      expect(config.listen).toEqual({ host: '0.0.0.0', port: 8081 });
      expect(config.concurrency).toBe(8);
      expect(config.queueTimeout).toBe(2000);
      expect(config.maxBodySize).toBe(1024 * 1024);
      expect(config.offload).toEqual({
        allow: ['https://files.example', 'http://10.0.0.5:8080'],
        accel: { '/internal/': 'http://files.internal/protected/' },
        sendfileRoots: [tmp.dir],
        keepHeaders: ['set-cookie', 'cache-control'],
        followRedirects: 0,
      });
    });

    it('reads a JSON file named by HANDOFF_CONFIG', () => {
      const file = writeConfig(tmp.dir, 'handoff.json', JSON.stringify({ backend: 'http://b:1', offload: { allow: ['https://f.example'] } }));
      const config = load([], { HANDOFF_CONFIG: file });
      expect(config.backend.origin).toBe('http://b:1');
      expect(config.offload.allow).toEqual(['https://f.example']);
    });

    it('lets the environment override the file, and flags override both', () => {
      const file = yaml();
      const env = { HANDOFF_CONCURRENCY: '16', HANDOFF_OFFLOAD_ALLOW: 'https://a.example, https://b.example', HANDOFF_LISTEN: '127.0.0.1:9000' };
      const fromEnv = load(['--config', file], env);
      expect(fromEnv.concurrency).toBe(16);
      expect(fromEnv.offload.allow).toEqual(['https://a.example', 'https://b.example']);
      expect(fromEnv.queueTimeout).toBe(2000);

      const fromFlags = load(['--config', file, '--concurrency', '32', '--offload-allow', 'https://c.example', '--offload-allow', 'https://d.example'], env);
      expect(fromFlags.concurrency).toBe(32);
      expect(fromFlags.offload.allow).toEqual(['https://c.example', 'https://d.example']);
      expect(fromFlags.listen).toEqual({ host: '127.0.0.1', port: 9000 });
    });

    it('applies the defaults, and takes accel prefixes as prefix=url pairs from the environment', () => {
      const config = load([], { HANDOFF_BACKEND: 'http://127.0.0.1:3000', HANDOFF_OFFLOAD_ACCEL: '/a/=http://files:1/x/,/b/=https://cdn.example/' });
      expect(config).toMatchObject({
        listen: { host: '127.0.0.1', port: 8080 },
        metricsListen: { host: '127.0.0.1', port: 9464 },
        concurrency: 64,
        maxQueue: 256,
        queueTimeout: 5000,
        headersTimeout: 60_000,
        bodyTimeout: 60_000,
        maxBodySize: 10 * 1024 * 1024,
        shutdownTimeout: 30_000,
        xForwarded: 'set',
      });
      expect(config.offload.allow).toEqual([]);
      expect(config.offload.sendfileRoots).toEqual([]);
      expect(config.offload.keepHeaders).toEqual(['set-cookie', 'cache-control', 'expires', 'content-disposition', 'vary']);
      expect(config.offload.accel).toEqual({ '/a/': 'http://files:1/x/', '/b/': 'https://cdn.example/' });
      expect(load(['--backend', 'http://b', '--metrics-listen', 'off', '--x-forwarded', 'off']).metricsListen).toBeNull();
    });
  });

  describe('refusals name the key and where it came from', () => {
    it.each([
      [['--backend', 'ftp://x'], {}, 'backend (flag --backend) must be http: or https:, got "ftp://x"'],
      [['--backend', 'http://u:p@x'], {}, 'backend (flag --backend) must not carry credentials'],
      [[], { HANDOFF_BACKEND: 'not a url' }, 'backend (environment HANDOFF_BACKEND) must be an absolute http(s) URL, got "not a url"'],
      [['--backend', 'http://x'], { HANDOFF_CONCURRENCY: '0' }, 'concurrency (environment HANDOFF_CONCURRENCY) must be an integer from 1 up, got "0"'],
      [['--backend', 'http://x', '--queue-timeout', '5 minutes'], {}, 'queueTimeout (flag --queue-timeout) must be a duration'],
      [['--backend', 'http://x', '--max-body-size', '10q'], {}, 'maxBodySize (flag --max-body-size) must be a size in bytes'],
      [['--backend', 'http://x', '--listen', '127.0.0.1:70000'], {}, 'listen (flag --listen) holds a port above 65535'],
      [['--backend', 'http://x', '--offload-allow', 'https://ok.example,https://f.example/path'], {}, 'offload.allow (flag --offload-allow) entry 2 must be a bare origin'],
      [['--backend', 'http://x', '--offload-accel', 'internal=http://f/'], {}, 'offload.accel (flag --offload-accel) prefix must be a plain path that starts and ends with /'],
      [['--backend', 'http://x', '--offload-accel', '/internal/=http://f/store'], {}, 'offload.accel (flag --offload-accel) target for /internal/ must end with /'],
      [['--backend', 'http://x'], { HANDOFF_OFFLOAD_FOLLOW_REDIRECTS: '-1' }, 'offload.followRedirects (environment HANDOFF_OFFLOAD_FOLLOW_REDIRECTS) must be an integer from 0 up'],
      [['--backend', 'http://x', '--offload-sendfile-roots', '/no/such/dir'], {}, 'offload.sendfileRoots (flag --offload-sendfile-roots) entry 1 must be an existing directory'],
      [['--backend', 'http://x', '--x-forwarded', 'yes'], {}, 'xForwarded (flag --x-forwarded) must be one of set, append, off'],
      [['--backend', 'http://x'], { HANDOFF_CONCURENCY: '4' }, 'unknown environment variable HANDOFF_CONCURENCY'],
      [['--backend', 'http://x', '--concurency', '4'], {}, "Unknown option '--concurency'"],
      [['--backend', 'http://x', 'extra'], {}, "Unexpected argument 'extra'"],
      [['--backend', 'http://x', '--listen', '127.0.0.1:9000', '--metrics-listen', '127.0.0.1:9000'], {}, 'metricsListen (flag --metrics-listen) must differ from listen'],
      [[], {}, 'backend is required'],
    ])('%j %j', (argv, env, message) => {
      expect(refusal(argv, env)).toContain(message);
    });

    it('refuses unknown keys, invalid YAML, duplicate keys and other extensions in a file', () => {
      const unknown = writeConfig(tmp.dir, 'unknown.yaml', 'backend: http://x\noffload:\n  alow: [https://f.example]\n');
      expect(refusal(['--config', unknown])).toContain(`unknown key offload.alow in config file ${unknown}`);
      const typo = writeConfig(tmp.dir, 'typo.json', '{"backend": "http://x", "concurency": 2}');
      expect(refusal(['--config', typo])).toContain(`unknown key concurency in config file ${typo}`);
      const broken = writeConfig(tmp.dir, 'broken.yaml', 'backend: [http://x\n');
      expect(refusal(['--config', broken])).toMatch(/^config file .*broken\.yaml is not valid YAML: .+/);
      const twice = writeConfig(tmp.dir, 'twice.yaml', 'backend: http://x\nbackend: http://y\n');
      expect(refusal(['--config', twice])).toMatch(/is not valid YAML: .*unique/i);
      const ini = writeConfig(tmp.dir, 'handoff.ini', 'backend=http://x');
      expect(refusal(['--config', ini])).toContain('must end in .yaml, .yml or .json');
      expect(refusal(['--config', path.join(tmp.dir, 'missing.yaml')])).toContain('cannot be read: ENOENT');
      const bad = writeConfig(tmp.dir, 'bad.yaml', 'backend: http://x\nconcurrency: many\n');
      expect(refusal(['--config', bad])).toBe(`concurrency (config file ${bad}) must be an integer from 1 up, got "many"`);
    });
  });

  describe('as a process', () => {
    let backendA: Running;
    let backendB: Running;

    beforeAll(async () => {
      backendA = await upstream((_req, res) => res.end('A'));
      backendB = await upstream((_req, res) => res.end('B'));
    });

    afterAll(async () => {
      await backendA.close();
      await backendB.close();
    });

    it('is configured by a file, with the environment overriding it', async () => {
      const file = writeConfig(tmp.dir, 'process.yaml', `backend: ${backendA.url}\nconcurrency: 4\n`);
      const fromFile = await startSidecar({ args: ['--config', file] });
      try {
        expect((await request(fromFile.url)).body.toString()).toBe('A');
      } finally {
        await fromFile.kill();
      }
      const overridden = await startSidecar({ args: ['--config', file], env: { HANDOFF_BACKEND: backendB.url } });
      try {
        expect((await request(overridden.url)).body.toString()).toBe('B');
      } finally {
        await overridden.kill();
      }
    }, 60_000);

    it('exits with 2 and one line naming the key and source, having started nothing', async () => {
      const file = writeConfig(tmp.dir, 'bad-process.yaml', `backend: ${backendA.url}\nmaxQueue: -1\n`);
      const result = await runToExit({ args: ['--config', file, '--listen', '127.0.0.1:0'] });
      expect(result.code).toBe(2);
      expect(result.stderr).toBe(`handoff: invalid configuration: maxQueue (config file ${file}) must be an integer from 0 up, got -1\n`);
      expect(result.stdout).toBe('');

      const env = await runToExit({ env: { HANDOFF_BACKEND: 'http://[::1' } });
      expect(env.code).toBe(2);
      expect(env.stderr).toMatch(/^handoff: invalid configuration: backend \(environment HANDOFF_BACKEND\) must be an absolute http\(s\) URL/);

      // Refused by the engine's own validation of the offload rules, still before listening.
      const engine = await runToExit({ args: ['--backend', backendA.url, '--listen', '127.0.0.1:0', '--offload-keep-headers', 'set-cookie,content-length'] });
      expect(engine.code).toBe(2);
      expect(engine.stderr).toMatch(/^handoff: invalid configuration: offload\.keepHeaders may not keep content-length.* \(flag --offload-keep-headers\)\n$/);
      expect(engine.stdout).toBe('');
    }, 60_000);

    it('explains itself with --help and prints its version with --version', async () => {
      const help = await runToExit({ args: ['--help'] });
      expect(help.code).toBe(0);
      for (const name of ['HANDOFF_LISTEN', 'HANDOFF_BACKEND', 'HANDOFF_OFFLOAD_ALLOW', 'HANDOFF_OFFLOAD_ACCEL', 'HANDOFF_OFFLOAD_SENDFILE_ROOTS', 'HANDOFF_SHUTDOWN_TIMEOUT', '--config', '/healthz', 'SIGTERM']) {
        expect(help.stdout).toContain(name);
      }
      const version = await runToExit({ args: ['--version'] });
      expect(version.code).toBe(0);
      expect(version.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    }, 60_000);
  });
});
