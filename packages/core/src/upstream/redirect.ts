/** Statuses that carry a Location to follow (RFC 9110 §15.4). */
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export interface Hop {
  url: URL;
  method: string;
  /** Whether the request body goes along (307/308 keep method and body). */
  keepBody: boolean;
}

export function isRedirect(status: number): boolean {
  return REDIRECTS.has(status);
}

/** Where a redirect leads and with which method, or a reason it cannot be followed. */
export function nextHop(status: number, location: string, from: URL, method: string): Hop | string {
  let url: URL;
  try {
    url = new URL(location, from);
  } catch {
    return `an invalid Location ${JSON.stringify(location)}`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `a Location with scheme ${url.protocol}`;
  if (url.username || url.password) return 'a Location carrying credentials';
  url.hash = '';
  // 303 always becomes GET; 301/302 turn POST into GET as every browser does (RFC 9110 §15.4.2).
  if (status === 303 && method !== 'HEAD') return { url, method: 'GET', keepBody: false };
  if ((status === 301 || status === 302) && method === 'POST') return { url, method: 'GET', keepBody: false };
  return { url, method, keepBody: true };
}
