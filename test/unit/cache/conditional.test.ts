import { notModified, takeConditional, type ClientConditional } from '../../../packages/core/src/cache/conditional';

const MODIFIED = 'Tue, 01 Jul 2025 12:00:00 GMT';
const LATER = 'Wed, 02 Jul 2025 12:00:00 GMT';
const EARLIER = 'Mon, 30 Jun 2025 12:00:00 GMT';

function conditional(fields: Partial<ClientConditional>): ClientConditional {
  return { ifNoneMatch: undefined, ifModifiedSince: undefined, ...fields };
}

describe('takeConditional', () => {
  it('is undefined and leaves the headers alone when the client sent no validators', () => {
    const headers = { accept: '*/*', 'if-match': '"x"' };
    expect(takeConditional(headers)).toBeUndefined();
    expect(headers).toEqual({ accept: '*/*', 'if-match': '"x"' });
  });

  it('removes If-None-Match and If-Modified-Since from the upstream headers and returns them', () => {
    const headers: Record<string, string | string[]> = { 'if-none-match': '"a"', 'if-modified-since': MODIFIED, 'if-range': '"a"', accept: '*/*' };
    expect(takeConditional(headers)).toEqual({ ifNoneMatch: '"a"', ifModifiedSince: MODIFIED });
    expect(headers).toEqual({ 'if-range': '"a"', accept: '*/*' });
  });

  it('returns the one validator sent, the other undefined', () => {
    expect(takeConditional({ 'if-modified-since': MODIFIED })).toEqual({ ifNoneMatch: undefined, ifModifiedSince: MODIFIED });
    expect(takeConditional({ 'if-none-match': '*' })).toEqual({ ifNoneMatch: '*', ifModifiedSince: undefined });
  });

  it('joins repeated If-None-Match fields into one list and takes the first If-Modified-Since', () => {
    expect(takeConditional({ 'if-none-match': ['"a"', 'W/"b"'], 'if-modified-since': [MODIFIED, LATER] })).toEqual({
      ifNoneMatch: '"a", W/"b"',
      ifModifiedSince: MODIFIED,
    });
  });
});

describe('notModified', () => {
  describe('If-None-Match', () => {
    it('matches a strong ETag', () => {
      expect(notModified(conditional({ ifNoneMatch: '"v1"' }), 200, { etag: '"v1"' })).toBe(true);
    });

    it('does not match another ETag', () => {
      expect(notModified(conditional({ ifNoneMatch: '"v2"' }), 200, { etag: '"v1"' })).toBe(false);
    });

    it('compares weakly: W/"x" and "x" match either way', () => {
      expect(notModified(conditional({ ifNoneMatch: 'W/"v1"' }), 200, { etag: '"v1"' })).toBe(true);
      expect(notModified(conditional({ ifNoneMatch: '"v1"' }), 200, { etag: 'W/"v1"' })).toBe(true);
      expect(notModified(conditional({ ifNoneMatch: 'W/"v1"' }), 200, { etag: 'W/"v1"' })).toBe(true);
    });

    it('matches any tag of a list', () => {
      expect(notModified(conditional({ ifNoneMatch: '"a", "b" ,W/"v1"' }), 200, { etag: '"v1"' })).toBe(true);
      expect(notModified(conditional({ ifNoneMatch: '"a", "b"' }), 200, { etag: '"v1"' })).toBe(false);
    });

    it('matches * against a response with an ETag', () => {
      expect(notModified(conditional({ ifNoneMatch: '*' }), 200, { etag: '"anything"' })).toBe(true);
    });

    // RFC 9110 §13.1.2: "*" is false (answer 304) whenever a current representation exists; an ETag is not required.
    it('matches * against a 200 response without an ETag (RFC 9110 §13.1.2)', () => {
      expect(notModified(conditional({ ifNoneMatch: '*' }), 200, { 'last-modified': MODIFIED })).toBe(true);
    });

    // RFC 9110 §8.8.3: etagc includes ','; a list must be split between quoted tags, not at every comma.
    it('matches an ETag that contains a comma (RFC 9110 §8.8.3)', () => {
      expect(notModified(conditional({ ifNoneMatch: '"a,b"' }), 200, { etag: '"a,b"' })).toBe(true);
    });

    it('does not match when the response has no ETag', () => {
      expect(notModified(conditional({ ifNoneMatch: '"v1"' }), 200, {})).toBe(false);
      expect(notModified(conditional({ ifNoneMatch: '"v1"' }), 200, { etag: ['"v1"', '"v2"'] })).toBe(false);
    });

    it('takes precedence over If-Modified-Since (RFC 9110 §13.1.3)', () => {
      const both = conditional({ ifNoneMatch: '"other"', ifModifiedSince: LATER });
      expect(notModified(both, 200, { etag: '"v1"', 'last-modified': MODIFIED })).toBe(false);
    });
  });

  describe('If-Modified-Since', () => {
    it('matches when the response was last modified at or before the date', () => {
      expect(notModified(conditional({ ifModifiedSince: MODIFIED }), 200, { 'last-modified': MODIFIED })).toBe(true);
      expect(notModified(conditional({ ifModifiedSince: LATER }), 200, { 'last-modified': MODIFIED })).toBe(true);
    });

    it('does not match when the response was modified after the date', () => {
      expect(notModified(conditional({ ifModifiedSince: EARLIER }), 200, { 'last-modified': MODIFIED })).toBe(false);
    });

    it('does not match an invalid date on either side, or a response without Last-Modified', () => {
      expect(notModified(conditional({ ifModifiedSince: 'yesterday' }), 200, { 'last-modified': MODIFIED })).toBe(false);
      expect(notModified(conditional({ ifModifiedSince: LATER }), 200, { 'last-modified': 'not a date' })).toBe(false);
      expect(notModified(conditional({ ifModifiedSince: LATER }), 200, {})).toBe(false);
    });
  });

  it('only answers a 200 with 304', () => {
    for (const status of [201, 206, 304, 404]) {
      expect(notModified(conditional({ ifNoneMatch: '"v1"' }), status, { etag: '"v1"' })).toBe(false);
      expect(notModified(conditional({ ifModifiedSince: LATER }), status, { 'last-modified': MODIFIED })).toBe(false);
    }
  });

  it('does not match without any validator', () => {
    expect(notModified(conditional({}), 200, { etag: '"v1"', 'last-modified': MODIFIED })).toBe(false);
  });
});
