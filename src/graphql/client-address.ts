import type { IncomingMessage } from 'node:http';
import proxyAddr from 'proxy-addr';

/** Finds a request's client address: the peer's, or the one a trusted proxy forwarded. */
export type ClientAddressOf = (req: IncomingMessage) => string | null;

/**
 * How far to believe X-Forwarded-For (TRUST_PROXY): unset, not at all (the peer's address counts);
 * a number, that many proxies in front of the server; otherwise a comma-separated list of proxy
 * addresses or CIDR ranges, and the names `loopback`, `linklocal`, `uniquelocal`. The client is the
 * nearest address that is not a trusted proxy, so a client cannot pick its own address by sending
 * the header itself.
 */
export function clientAddressOf(trustProxy: string | undefined): ClientAddressOf {
  const trust = compileTrust(trustProxy);
  if (!trust) return (req) => req.socket?.remoteAddress ?? null;
  return (req) => (req.socket?.remoteAddress ? proxyAddr(req, trust) : null);
}

/** The trust rule for `value`; throws a readable error for a malformed one. Null: trust no one. */
export function compileTrust(value: string | undefined): ((addr: string, hop: number) => boolean) | null {
  const text = value?.trim();
  if (!text) return null;
  if (/^\d+$/.test(text)) {
    const hops = Number(text);
    return hops === 0 ? null : (_addr, hop) => hop < hops;
  }
  const entries = text.split(',').map((entry) => entry.trim()).filter(Boolean);
  try {
    return proxyAddr.compile(entries);
  } catch (error) {
    throw new Error(`TRUST_PROXY: ${(error as Error).message}`);
  }
}
