import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import Koa from 'koa';
import { acceptUpload, expectContinue, type AcceptUploadOptions, type Upload } from '@handoff/koa';
import { listen, type Running } from '../../helpers/servers';

export interface UploadApp extends Running {
  /** What the handler saw, one entry per run. */
  handled: Upload[];
  /** Errors the app emitted. */
  errors: Error[];
  /** How many times authorize ran. */
  authorized: number;
}

/**
 * A Koa app on 127.0.0.1 port 0 with `checkContinue` handled by expectContinue: `/ping`
 * answers at once, every other path is an upload route (`acceptUpload(options)`) whose
 * handler records `ctx.upload` and answers it as JSON (`handler` replaces that).
 */
export async function uploadApp(options: Omit<AcceptUploadOptions, 'authorize'> & Partial<Pick<AcceptUploadOptions, 'authorize'>>, handler?: Koa.Middleware): Promise<UploadApp> {
  const app = new Koa();
  app.silent = true;
  const handled: Upload[] = [];
  const errors: Error[] = [];
  const state = { authorized: 0 };
  app.on('error', (err: Error) => errors.push(err));
  const authorize = options.authorize ?? (() => ({ maxSize: 1 << 30 }));
  const accept = acceptUpload({
    ...options,
    authorize: (ctx) => {
      state.authorized++;
      return authorize(ctx);
    },
  });
  app.use(async (ctx, next) => (ctx.path === '/ping' ? void (ctx.body = 'pong') : accept(ctx, next)));
  app.use(
    handler ??
      ((ctx) => {
        handled.push(ctx.upload!);
        ctx.body = ctx.upload;
      }),
  );
  const server = http.createServer(app.callback());
  server.on('checkContinue', expectContinue(app.callback()));
  const running = await listen(server);
  return {
    ...running,
    handled,
    errors,
    get authorized() {
      return state.authorized;
    },
  };
}

/** A temp directory, and what is in it. */
export function tempStore(): { dir: string; entries(): string[]; cleanup(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'handoff-uploads-'));
  return { dir, entries: () => fs.readdirSync(dir), cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export interface FormPart {
  name: string;
  value: string | Buffer;
  /** Makes it a file part. */
  filename?: string;
  contentType?: string;
}

/** A multipart/form-data body and its content type. */
export function formData(parts: FormPart[], boundary = 'handoff-test-boundary'): { body: Buffer; contentType: string } {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition = `form-data; name="${part.name}"${part.filename !== undefined ? `; filename="${part.filename}"` : ''}`;
    const type = part.filename !== undefined ? `\r\ncontent-type: ${part.contentType ?? 'application/octet-stream'}` : '';
    chunks.push(Buffer.from(`--${boundary}\r\ncontent-disposition: ${disposition}${type}\r\n\r\n`), Buffer.from(part.value), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}
