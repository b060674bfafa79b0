import { timingSafeEqual } from 'node:crypto';
import type { Middleware } from 'koa';

/** Answers 401 unless the request carries `Authorization: Bearer <token>`. */
export function requireToken(token: string): Middleware {
  const expected = Buffer.from(`Bearer ${token}`);
  return async (ctx, next) => {
    const given = Buffer.from(ctx.get('authorization'));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      // Set rather than thrown: a 401 is an answer, not an error for app.on('error').
      ctx.status = 401;
      ctx.set('www-authenticate', 'Bearer');
      ctx.body = { error: 'missing or wrong bearer token' };
      return;
    }
    await next();
  };
}
