import { isHopByHop } from '../http/fields';
import { isFieldValue, isToken } from '../http/syntax';
import type { ResponseHead } from '../types';

/**
 * Checks a response head before anything is written: a final status, token
 * names, values free of CR/LF/NUL, and no framing fields (the framing is the
 * proxy's own). Returns what is wrong, or null. This matters most in socket
 * mode, where Node's own checks are bypassed.
 */
export function checkResponseHead(head: ResponseHead, upstreamLength: number | null): string | null {
  const { status, headers } = head;
  if (!Number.isInteger(status) || status < 200 || status > 599) return `status ${String(status)} is not a final status`;
  if (typeof headers !== 'object' || headers === null) return 'headers must be an object';
  for (const name in headers) {
    if (!isToken(name)) return `invalid header name ${JSON.stringify(name)}`;
    if (name !== name.toLowerCase()) return `header name ${JSON.stringify(name)} must be lower-case`;
    if (isHopByHop(name)) return `hop-by-hop header ${name} cannot be sent; the proxy frames the response itself`;
    const value = headers[name];
    if (Array.isArray(value)) {
      for (const v of value) {
        if (typeof v !== 'string' || !isFieldValue(v)) return `invalid value for header ${name}: ${JSON.stringify(v)}`;
      }
    } else if (typeof value !== 'string' || !isFieldValue(value)) {
      return `invalid value for header ${name}: ${JSON.stringify(value)}`;
    }
  }
  const length = headers['content-length'];
  if (length !== undefined && (upstreamLength === null || length !== String(upstreamLength))) {
    return `content-length ${JSON.stringify(length)} does not match the upstream body; remove it rather than change it`;
  }
  return null;
}
