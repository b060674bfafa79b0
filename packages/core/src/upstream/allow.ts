import dns from 'node:dns';
import net from 'node:net';
import { ProxyError } from '../errors';
import { invalid } from '../options/values';

/** Origins (`'https://reports.internal'`, `'http://10.0.0.5:8080'`) or a predicate over the target URL. */
export type AllowOption = readonly string[] | ((url: URL) => boolean);

/**
 * Addresses an SSRF would aim at: loopback, private, link-local (cloud metadata
 * at 169.254.169.254), shared, multicast and reserved ranges, IPv4-mapped and
 * NAT64 IPv6. Reached only through an origin listed by name.
 */
const SPECIAL = new net.BlockList();
for (const [prefix, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  SPECIAL.addSubnet(prefix, bits, 'ipv4');
}
for (const [prefix, bits] of [
  ['::', 128],
  ['::1', 128],
  ['::ffff:0:0', 96],
  ['64:ff9b::', 96],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  SPECIAL.addSubnet(prefix, bits, 'ipv6');
}

function isSpecialAddress(address: string): boolean {
  const family = net.isIP(address);
  return family !== 0 && SPECIAL.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

/** The allow-list: which upstream URLs may be reached, checked before any connection and again at connect time. */
export class AllowPolicy {
  readonly #origins: ReadonlySet<string> | undefined;
  readonly #listedHosts: ReadonlySet<string>;
  readonly #predicate: ((url: URL) => boolean) | undefined;

  /** `name` is the option's name in error messages (`allow`, `offload.allow`). */
  constructor(option: AllowOption, name = 'allow') {
    if (typeof option === 'function') {
      this.#predicate = option;
      this.#listedHosts = new Set();
      return;
    }
    if (!Array.isArray(option)) throw invalid(name, `${name} must be an array of origins or a function (url) => boolean`);
    const origins = new Set<string>();
    const hosts = new Set<string>();
    for (const entry of option) {
      let url: URL;
      try {
        url = new URL(entry);
      } catch {
        throw invalid(name, `${name} holds an invalid origin: ${JSON.stringify(entry)}`);
      }
      if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.pathname !== '/' || url.search || url.hash || url.username) {
        throw invalid(name, `${name} entries must be bare http(s) origins like 'https://host:port', got ${JSON.stringify(entry)}`);
      }
      origins.add(url.origin);
      hosts.add(bareHost(url.hostname));
    }
    this.#origins = origins;
    this.#listedHosts = hosts;
  }

  /** A predicate lists no names, so its targets may never resolve to a private address. */
  get isPredicate(): boolean {
    return this.#predicate !== undefined;
  }

  /** Throws HANDOFF_TARGET_FORBIDDEN unless `url` may be reached; nothing has connected yet. */
  check(url: URL, describe: string): void {
    if (this.#origins) {
      if (this.#origins.has(url.origin)) return;
      throw new ProxyError('HANDOFF_TARGET_FORBIDDEN', `Upstream origin ${url.origin} is not in the allow-list: ${describe}`);
    }
    let allowed: boolean;
    try {
      allowed = this.#predicate!(url) === true;
    } catch (cause) {
      throw new ProxyError('HANDOFF_TARGET_FORBIDDEN', `The allow predicate threw: ${describe}`, { cause });
    }
    if (!allowed) throw new ProxyError('HANDOFF_TARGET_FORBIDDEN', `The allow predicate refused the upstream: ${describe}`);
    // IP literals never reach the DNS check below, so their range is checked here.
    // The WHATWG parser has already turned decimal/octal/hex forms into dotted quads.
    const host = bareHost(url.hostname);
    if (isSpecialAddress(host)) {
      throw new ProxyError('HANDOFF_TARGET_FORBIDDEN', `Upstream address ${host} is in a private or reserved range: ${describe}`);
    }
  }

  /**
   * A `lookup` for the dispatcher's connector: the addresses validated are the ones
   * connected to, so a name that resolves to a private range (DNS rebinding, a
   * wildcard record) is refused unless its origin was listed by name.
   */
  readonly lookup = (
    hostname: string,
    options: dns.LookupOptions,
    callback: (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void,
  ): void => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '');
      if (!this.#listedHosts.has(hostname.toLowerCase())) {
        const special = addresses.find((a) => isSpecialAddress(a.address));
        if (special) {
          return callback(
            new ProxyError(
              'HANDOFF_TARGET_FORBIDDEN',
              `Upstream host ${hostname} resolved to ${special.address}, a private or reserved address`,
            ),
            '',
          );
        }
      }
      if (options.all) return callback(null, addresses);
      const first = addresses[0]!;
      callback(null, first.address, first.family);
    });
  };
}

function bareHost(hostname: string): string {
  return hostname.startsWith('[') ? hostname.slice(1, -1) : hostname.toLowerCase();
}
