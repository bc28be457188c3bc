// The network a validation needs, behind one interface: DNS lookups, an HTTP GET to an address
// already checked, and the raw-TLS probe of tls-alpn-01. The challenge modules see only this; the
// edge's runtime adapters (edge/platform/) and the on-prem validator (validation/node/) provide it.

/** A DNS failure, classified so validation can answer the right ACME problem (`dns`). */
export class DnsError extends Error {
  readonly code: 'NXDOMAIN' | 'NODATA' | 'SERVFAIL' | 'TIMEOUT' | 'REFUSED' | 'OTHER';
  constructor(code: DnsError['code'], message: string) {
    super(message);
    this.name = 'DnsError';
    this.code = code;
  }
}

export interface DnsResolver {
  /** TXT records, each record's strings joined. Throws DnsError. An empty answer is NODATA. */
  resolveTxt(name: string): Promise<string[]>;
  /** IPv4 addresses as text. Throws DnsError. */
  resolve4(name: string): Promise<string[]>;
  /** IPv6 addresses as text. Throws DnsError. */
  resolve6(name: string): Promise<string[]>;
}

export interface HttpGetRequest {
  /** IP literal to connect to (already resolved and checked against the address rules) */
  address: string;
  port: number;
  /** Host header value (the identifier, or a redirect target's host) */
  hostHeader: string;
  /** path + query, starting with "/" */
  path: string;
  /** whole request budget */
  timeoutMs: number;
  /** stop reading the body after this many bytes (the result is truncated, flagged) */
  maxBytes: number;
  /** connect with TLS (a redirect to https://); certificate not verified (RFC 8555 §8.3) */
  tls?: boolean;
}

export interface HttpGetResult {
  status: number;
  /** lower-case header names */
  headers: Record<string, string>;
  body: Uint8Array;
  truncated: boolean;
}

/** Connection-level failure of an HTTP GET (refused, reset, timeout, TLS). */
export class ConnectError extends Error {
  readonly code: 'REFUSED' | 'TIMEOUT' | 'RESET' | 'TLS' | 'OTHER';
  constructor(code: ConnectError['code'], message: string) {
    super(message);
    this.name = 'ConnectError';
    this.code = code;
  }
}

export interface TlsAlpnProbe {
  /** DER of the certificate the peer presented when asked for ALPN "acme-tls/1" with this SNI */
  peerCertificate(req: { address: string; port: number; servername: string; timeoutMs: number }): Promise<{
    certDer: Uint8Array;
    alpn: string | false;
  }>;
}

export interface ValidationNet {
  /** named in problems about what it cannot do ("node", "deno", "workers") */
  readonly name: string;
  dns: DnsResolver;
  httpGet(req: HttpGetRequest): Promise<HttpGetResult>;
  /** raw TLS with a chosen ALPN; absent where the runtime cannot do it (tls-alpn-01 not offered then) */
  tlsAlpn?: TlsAlpnProbe;
}

/**
 * What a validator's network can do beyond DNS and HTTP, as far as offering a challenge depends on
 * it (Challenge.offeredFor): raw TLS with a chosen ALPN for tls-alpn-01 (Node; not Deno or Workers).
 */
export interface Capabilities {
  tlsAlpn: boolean;
}

export function capabilitiesOf(net: Pick<ValidationNet, 'tlsAlpn'>): Capabilities {
  return { tlsAlpn: Boolean(net.tlsAlpn) };
}

/** User-Agent of validation requests (ASCII only: header values must be). */
export const VALIDATION_USER_AGENT = 'edgeca-validation/0.1 (+RFC 8555 section 8)';
