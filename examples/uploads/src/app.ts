import Router from '@koa/router';
import Koa from 'koa';
import type { S3Client } from '@aws-sdk/client-s3';
import { acceptUpload, localStore } from '@handoff/koa';
import { s3Store } from '@handoff/uploads/s3';

const MiB = 1024 * 1024;

/** Answers 401 unless the request carries `Authorization: Bearer <token>`. */
function requireToken(token: string): Koa.Middleware {
  return async (ctx, next) => {
    if (ctx.get('authorization') !== `Bearer ${token}`) {
      ctx.status = 401;
      ctx.body = { error: 'missing or wrong bearer token' };
      return;
    }
    await next();
  };
}

export interface AppOptions {
  token: string;
  /** Where /local uploads go. */
  dir: string;
  s3: { client: S3Client; bucket: string };
  /** Called with what each handler received. */
  onUpload(route: string, upload: unknown): void;
}

/**
 * The example app: `PUT /local/:name` stores into a directory, `PUT /s3/:name` and
 * `POST /s3/form` into the bucket (one presigned PUT when the length is declared and small,
 * S3 multipart otherwise). authorize() decides the limit per route before a byte is read.
 */
export function createApp(options: AppOptions): Koa {
  const app = new Koa();
  const router = new Router();
  const auth = requireToken(options.token);
  const s3 = s3Store({ client: options.s3.client, bucket: options.s3.bucket, maxSize: 512 * MiB, partSize: 5 * MiB, prefix: 'uploads/' });
  const handler: Koa.Middleware = (ctx) => {
    options.onUpload(`${ctx.method} ${ctx.path}`, ctx.upload);
    ctx.status = 201;
    ctx.body = { stored: ctx.upload!.files.map((f) => f.path ?? f.remoteUrl) };
  };

  router.put('/local/:name', auth, acceptUpload({ authorize: () => ({ maxSize: 64 * MiB, store: localStore(options.dir) }) }), handler);
  router.put('/s3/:name', auth, acceptUpload({ authorize: () => ({ maxSize: 512 * MiB, store: s3 }) }), handler);
  router.post('/s3/form', auth, acceptUpload({ authorize: () => ({ maxSize: 64 * MiB, store: s3, maxFiles: 4 }) }), handler);
  router.get('/ping', (ctx) => void (ctx.body = 'pong'));
  app.use(router.routes());
  return app;
}
