import http from 'node:http';
import net from 'node:net';
import { earlyHintLinks } from '../../../packages/core/src/http/early-hints';

/** Whether this Node's ServerResponse.writeEarlyHints takes `links` without throwing. */
function nodeAccepts(links: string[]): boolean {
  const res = new http.ServerResponse(new http.IncomingMessage(new net.Socket()));
  try {
    res.writeEarlyHints({ link: links });
    return true;
  } catch {
    return false;
  }
}

describe('earlyHintLinks (RFC 8297, RFC 8288 §3)', () => {
  it.each<[string, string | string[] | undefined, string[]]>([
    ['no Link field', undefined, []],
    ['one link-value', '</a.css>; rel=preload; as=style', ['</a.css>; rel=preload; as=style']],
    ['a quoted parameter', '</a.js>; rel="preload"; as=script', ['</a.js>; rel="preload"; as=script']],
    ['a bare URI', '</a.css>', ['</a.css>']],
    ['several field lines', ['</a.css>; rel=preload', '</b.js>; rel=preload'], ['</a.css>; rel=preload', '</b.js>; rel=preload']],
    ['each member of a comma-separated list', '</a.css>; rel=preload,  </b.js>; rel=preload', ['</a.css>; rel=preload', '</b.js>; rel=preload']],
    ['a URI with a comma in it', '</a,b.css>; rel=preload', ['</a,b.css>; rel=preload']],
    ['the members of a list with empty ones', ', </a.css>; rel=preload ,', ['</a.css>; rel=preload']],
  ])('keeps %s', (_what, field, links) => {
    expect(earlyHintLinks(field)).toEqual(links);
  });

  it.each<[string, string | string[]]>([
    ['not a link-value', 'garbage'],
    ['an unclosed URI', '</a.css; rel=preload'],
    ['an empty value', ''],
    ['a CR LF (a forged field)', '</a.css>\r\nSet-Cookie: x=1'],
    ['a bare LF', '</a.css>\n'],
    ['a NUL', '</a.css>\0'],
    ['a quoted parameter with a space (Node refuses it)', '</a.css>; title="a b"'],
  ])('drops %s', (_what, field) => {
    expect(earlyHintLinks(field)).toEqual([]);
  });

  it('drops only the bad values of a field', () => {
    expect(earlyHintLinks(['garbage', '</ok.css>; rel=preload', '</x>\r\n'])).toEqual(['</ok.css>; rel=preload']);
    expect(earlyHintLinks('</ok.css>; rel=preload, garbage')).toEqual(['</ok.css>; rel=preload']);
  });

  it("keeps only values this Node's writeEarlyHints accepts", () => {
    const fields = ['</a.css>; rel=preload; as=style', '</a.js>; rel="preload"', '</a,b.css>', '<https://cdn.example/x.woff2>; rel=preload; as=font; crossorigin'];
    for (const field of fields) {
      const links = earlyHintLinks(field);
      expect(links).toHaveLength(1);
      expect(nodeAccepts(links)).toBe(true);
    }
    expect(nodeAccepts(['</a.css>; rel=preload, </b.js>'])).toBe(false);
  });
});
