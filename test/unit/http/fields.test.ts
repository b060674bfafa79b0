import {
  BODY_FIELDS,
  PROXY_FIELDS,
  addConnectionTokens,
  isBodilessStatus,
  isHopByHop,
  isNegotiation,
  isOffloadHeader,
} from '../../../packages/core/src/http/fields';

describe('isHopByHop', () => {
  it.each(['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'http2-settings'])('holds %s', (name) => {
    expect(isHopByHop(name)).toBe(true);
  });

  it.each(['proxy-authorization', 'proxy-authenticate', 'proxy-connection', 'proxy-anything'])('holds %s by the proxy- prefix', (name) => {
    expect(isHopByHop(name)).toBe(true);
  });

  it.each(['content-length', 'trailers', 'x-proxy-id', 'host', 'cookie', 'proxy', 'Connection'])('does not hold %s', (name) => {
    expect(isHopByHop(name)).toBe(false);
  });
});

describe('addConnectionTokens', () => {
  it('adds each comma-separated token, trimmed and lower-cased', () => {
    const into = new Set<string>();
    addConnectionTokens(' Keep-Alive ,X-Secret,close', into);
    expect([...into]).toEqual(['keep-alive', 'x-secret', 'close']);
  });

  it('skips empty list elements', () => {
    const into = new Set<string>();
    addConnectionTokens(',, a ,,', into);
    expect([...into]).toEqual(['a']);
  });

  it('adds to what the set already holds', () => {
    const into = new Set(['x-first']);
    addConnectionTokens('x-second', into);
    addConnectionTokens('X-FIRST', into);
    expect([...into]).toEqual(['x-first', 'x-second']);
  });
});

describe('field sets', () => {
  it('BODY_FIELDS are the fields that describe a message body', () => {
    expect([...BODY_FIELDS].sort()).toEqual(['content-encoding', 'content-language', 'content-length', 'content-type']);
  });

  it('PROXY_FIELDS are host and the forwarding fields', () => {
    expect([...PROXY_FIELDS].sort()).toEqual(['forwarded', 'host', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-real-ip']);
  });
});

describe('isNegotiation', () => {
  it.each(['accept', 'accept-encoding', 'accept-language', 'range', 'if-none-match', 'if-modified-since', 'if-range', 'if-match'])(
    'holds %s',
    (name) => {
      expect(isNegotiation(name)).toBe(true);
    },
  );

  it.each(['accept-charset', 'accept-ranges', 'cookie', 'authorization', 'user-agent', 'iff', 'x-if-none-match'])('does not hold %s', (name) => {
    expect(isNegotiation(name)).toBe(false);
  });
});

describe('isOffloadHeader', () => {
  it.each(['offload-requested', 'offload-url', 'offload-x-token', 'x-accel-redirect', 'x-accel-limit-rate', 'x-sendfile', 'x-sendfile-type'])(
    'holds %s',
    (name) => {
      expect(isOffloadHeader(name)).toBe(true);
    },
  );

  it.each(['offload', 'x-accel', 'x-offload-url', 'x-send-file', 'Offload-Url', 'accept'])('does not hold %s', (name) => {
    expect(isOffloadHeader(name)).toBe(false);
  });
});

describe('isBodilessStatus', () => {
  it('holds 204 and 304 only', () => {
    expect(isBodilessStatus(204)).toBe(true);
    expect(isBodilessStatus(304)).toBe(true);
    for (const status of [100, 200, 205, 301, 404, 500]) expect(isBodilessStatus(status)).toBe(false);
  });
});
