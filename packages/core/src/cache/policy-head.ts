import type { Dispatcher } from 'undici';
import type { IncomingHttpHeaders } from 'undici/types/header';
import { ForwardingHandler } from '../upstream/forwarding-handler';
import { usableAge } from './age';
import { explicitlyPublic, mustUnderstandView } from './directives';
import { stash, STASH_FIELD } from './stash';
import { targetedCacheControl } from './targeted';

type Fields = Record<string, string | string[] | undefined>;

export interface PolicySettings {
  /** Targeted cache-control fields honoured (RFC 9213), lower case, first takes precedence; [] for none. */
  targetedFields: readonly string[];
  /** Whether an explicitly public response is stored with its Set-Cookie. */
  storeSetCookie: boolean;
}

/** The one targeted field meant for every CDN on the way, so it is passed on to the client; the others target this proxy. */
const PASSED_ON = 'cdn-cache-control';

/**
 * The fields undici's cache interceptor decides by, from the origin's (RFC 9111 as this
 * proxy reads it, where undici reads it otherwise or not at all):
 * - Age is the first member when that is valid, else ignored (cache/age.ts);
 * - a valid targeted field stands in for Cache-Control and Expires (RFC 9213 §2.2);
 * - `must-understand` is applied: `no-store` added for a status code this cache does not
 *   implement, dropped for one it does (cache/directives.ts);
 * - with `storeSetCookie`, an explicitly public response's Set-Cookie is hidden, since
 *   undici never stores one that has it as a shared cache.
 * What was replaced or hidden is stashed and put back for the client (cache/stash.ts).
 */
export function policyView(headers: Fields, settings: PolicySettings, status: number): Fields {
  const { targetedFields, storeSetCookie } = settings;
  const targetedPresent = targetedFields.some((name) => headers[name] !== undefined);
  const cookie = storeSetCookie && headers['set-cookie'] !== undefined;
  const cc = headers['cache-control'];
  const mustUnderstand = cc !== undefined && /must-understand/i.test(Array.isArray(cc) ? cc.join(',') : cc);
  if (headers.age === undefined && headers[STASH_FIELD] === undefined && !targetedPresent && !cookie && !mustUnderstand) return headers;

  const fields: Fields = { ...headers };
  // Only this proxy writes the stash; one from the origin is dropped.
  delete fields[STASH_FIELD];
  const age = usableAge(fields.age);
  if (age === undefined) delete fields.age;
  else fields.age = age;

  const origin: Record<string, string | string[] | null> = {};
  const targeted = targetedPresent ? targetedCacheControl(fields, targetedFields) : undefined;
  if (targeted !== undefined) {
    origin['cache-control'] = fields['cache-control'] ?? null;
    origin.expires = fields.expires ?? null;
    fields['cache-control'] = targeted;
    delete fields.expires;
  }
  const understood = mustUnderstandView(fields['cache-control'], status);
  if (understood !== undefined) {
    origin['cache-control'] ??= fields['cache-control'] ?? null;
    fields['cache-control'] = understood;
  }
  if (cookie && explicitlyPublic(fields['cache-control'])) {
    origin['set-cookie'] = fields['set-cookie']!;
    delete fields['set-cookie'];
  }
  const strip = targetedFields.filter((name) => name !== PASSED_ON && fields[name] !== undefined);
  stash(fields, origin, strip);
  return fields;
}

type Controller = Dispatcher.DispatchController;

/** Sits below undici's cache interceptor: every final response reaches it as policyView makes it. */
export class PolicyHeadHandler extends ForwardingHandler {
  constructor(
    private readonly settings: PolicySettings,
    handler: Dispatcher.DispatchHandler,
  ) {
    super(handler);
  }

  override onResponseStart(controller: Controller, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    const fields = statusCode >= 200 ? (policyView(headers as Fields, this.settings, statusCode) as IncomingHttpHeaders) : headers;
    this.handler.onResponseStart?.(controller, statusCode, fields, statusMessage);
  }
}
