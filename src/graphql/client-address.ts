import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import proxyAddr from 'proxy-addr';

/** Finds a request's client address: the peer's, or the one a trusted proxy forwarded. */
export type ClientAddressOf = (req: IncomingMessage) => string | null;

type Trust = (addr: string, hop: number) => boolean;

const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * How far to believe X-Forwarded-For (TRUST_PROXY): unset, not at all (the peer's address counts);
 * a number, exactly that many proxies in front of the server; otherwise a comma-separated list of
 * proxy addresses or CIDR ranges, and the names `loopback`, `linklocal`, `uniquelocal`. The client
 * is the nearest address that is not a trusted proxy, so a client cannot pick its own address by
 * sending the header itself.
 */
export function clientAddressOf(trustProxy: string | undefined): ClientAddressOf {
  const trust = compileTrust(trustProxy);
  if (!trust) return (req) => req.socket?.remoteAddress ?? null;
  return (req) => {
    if (!req.socket?.remoteAddress) return null;
    // The peer first, then the forwarded addresses, nearest first, up to the first untrusted one.
    const chain = proxyAddr.all(req, trust);
    // A forwarded entry that is not an address (a port added, "unknown", anything a client made
    // up) would be a fresh key for the sign-in counts each time: the nearest real address stands in.
    return chain.findLast((address) => isIP(address) !== 0) ?? null;
  };
}

/** The trust rule for `value`; throws a readable error for a malformed one. Null: trust no one. */
export function compileTrust(value: string | undefined): Trust | null {
  const text = value?.trim();
  if (!text) return null;
  if (/^\d+$/.test(text)) {
    const hops = Number(text);
    return hops === 0 ? null : (_addr, hop) => hop < hops;
  }
  const entries = text.split(',').map((entry) => entry.trim()).filter(Boolean);
  for (const entry of entries) {
    // proxy-addr's parser would take "1" for 0.0.0.1 and "010.0.0.1" for 8.0.0.1.
    if (!NAMED_RANGES.has(entry) && isIP(entry.split('/')[0]!) === 0) {
      throw new Error(`TRUST_PROXY: ${JSON.stringify(entry)} is not an IP address, a CIDR range, loopback, linklocal or uniquelocal (a hop count stands alone)`);
    }
  }
  try {
    return proxyAddr.compile(entries);
  } catch (error) {
    throw new Error(`TRUST_PROXY: ${(error as Error).message}`);
  }
}
