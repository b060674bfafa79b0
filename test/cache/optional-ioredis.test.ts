// ioredis is an optional peer dependency of @handoff/core: the memory store never loads it,
// and a redis:// store without it installed is refused at construction, naming the package.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Makes `require('ioredis')` fail as it does where the package is not installed. */
const HOOK = `
const Module = require('node:module');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === 'ioredis') {
    const err = new Error("Cannot find module 'ioredis'");
    err.code = 'MODULE_NOT_FOUND';
    throw err;
  }
  return resolve.call(this, request, ...rest);
};
`;

describe('without ioredis installed', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'handoff-no-ioredis-'));
  const hook = path.join(dir, 'no-ioredis.cjs');
  fs.writeFileSync(hook, HOOK);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('the memory cache works without loading it, and a redis:// store is refused naming the package', async () => {
    const tsx = require.resolve('tsx/cli');
    const script = path.join(__dirname, 'processes/without-ioredis.ts');
    const stdout = await new Promise<string>((resolve, reject) =>
      // NODE_OPTIONS: tsx runs the script in a child process of its own, which must get the hook too.
      execFile(
        process.execPath,
        [tsx, '--tsconfig', path.join(__dirname, '../../tsconfig.json'), script],
        { timeout: 30_000, env: { ...process.env, NODE_OPTIONS: `--require ${hook}` } },
        (err, out, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(out)),
      ),
    );
    const { loaded, refused } = JSON.parse(stdout) as { loaded: string[]; refused: { code: string; option: string; message: string } | undefined };
    expect(loaded).toEqual([]);
    expect(refused).toEqual({
      code: 'HANDOFF_INVALID_OPTIONS',
      option: 'cache.store.redis',
      message: 'cache.store.redis needs the ioredis package, an optional peer dependency of @handoff/core: npm install ioredis',
    });
  }, 40_000);
});
