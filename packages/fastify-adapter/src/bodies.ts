import type { FastifyInstance } from 'fastify';

/**
 * Leaves request bodies unread in this (encapsulated) context, so that `body: 'request'`
 * can stream them upstream: Fastify answers 415 for a content type it has no parser for,
 * and its JSON parser reads the body before the handler runs. Call it inside the plugin
 * that declares the proxied routes: `app.register(async (api) => { passThroughBodies(api); … })`.
 */
export function passThroughBodies(instance: FastifyInstance): void {
  instance.removeAllContentTypeParsers();
  instance.addContentTypeParser('*', (_request, _payload, done) => done(null));
}
