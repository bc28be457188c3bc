// http-01 (RFC 8555 §8.3; IP identifiers RFC 8738 §4): fetch
// http://<identifier>/.well-known/acme-challenge/<token> and compare the body with the key
// authorization. Redirects are followed here, hop by hop, so every new host is held to the scope
// (when the caller sets one), resolved again and checked against the address policy before
// anything connects to it, as Boulder's VA re-checks every hop. No byte of any response body goes
// into a problem: a redirect can lead to any server the validator reaches, and a detail that quoted
// the body would hand its content to whoever asked for the challenge.

import { formatIp, isValidDnsName, isWildcard, parseIp } from '../shared/identifiers.ts';
import { AcmeProblem, type Identifier } from '../shared/problems.ts';
import { checkAddress } from './address-policy.ts';
import { ConnectError, type ValidationNet } from './net.ts';
import { Deadline, hostPort, resolveHost } from './resolve.ts';
import { excerpt, invalid, valid } from './result.ts';
import type {
  Challenge,
  ChallengeInput,
  ValidationOptions,
  ValidationRecord,
  ValidationResult,
} from './types.ts';

/** RFC 8555 §8.3 does not fix a limit; Boulder and Pebble follow at most 10 redirects. */
export const MAX_REDIRECTS = 10;
/** A key authorization is under 100 bytes; anything much longer cannot match. */
export const MAX_BODY_BYTES = 8 * 1024;

const REDIRECT_STATUS = new Set([301, 302, 303, 307, 308]);

interface Hop {
  scheme: 'http' | 'https';
  host: string;
  port: number;
  path: string;
}

export const http01: Challenge<'http-01'> = {
  type: 'http-01',
  // DNS names and, by RFC 8738 §4, IP addresses; a wildcard stands for names no single request
  // can answer for, so it is left to dns-01 (as Boulder and Pebble do).
  offeredFor: (id) => !isWildcard(id),
  validate: validateHttp01,
};

const defaultPort = (scheme: Hop['scheme']) => (scheme === 'https' ? 443 : 80);
const hopUrl = (h: Hop) => `${h.scheme}://${hostPort(h.host, h.port, defaultPort(h.scheme))}${h.path}`;

export async function validateHttp01(
  net: ValidationNet,
  input: ChallengeInput,
  opts: ValidationOptions,
): Promise<ValidationResult> {
  const id = input.identifier;
  if (id.type === 'dns' && id.value.startsWith('*.')) {
    return invalid(
      new AcmeProblem('rejectedIdentifier', 'a wildcard name can only be validated with dns-01'),
      id,
    );
  }
  const deadline = new Deadline(opts.timeoutMs);
  const records: ValidationRecord[] = [];
  let hop: Hop = {
    scheme: 'http',
    host: id.value,
    port: opts.http01Port,
    path: `/.well-known/acme-challenge/${input.token}`,
  };
  for (let redirects = 0; ; redirects++) {
    const url = hopUrl(hop);
    let resolved: Awaited<ReturnType<typeof resolveHost>>;
    try {
      resolved = await resolveHost(net, hop.host, deadline);
    } catch (err) {
      if (err instanceof AcmeProblem) return invalid(err, id, [...records, { url, hostname: hop.host }]);
      throw err;
    }
    const address = resolved.preferred;
    records.push({
      url,
      hostname: hop.host,
      port: String(hop.port),
      addressesResolved: resolved.addresses,
      addressUsed: address,
    });
    const refused = checkAddress(address, opts.addressPolicy);
    if (refused) return invalid(refused, id, records);

    const where = hostPort(address, hop.port, -1);
    const remaining = deadline.remaining();
    if (remaining <= 0) {
      return invalid(
        new AcmeProblem('connection', `${where}: Timeout during connect to ${url}`),
        id,
        records,
      );
    }
    let res: Awaited<ReturnType<ValidationNet['httpGet']>>;
    try {
      res = await net.httpGet({
        address,
        port: hop.port,
        hostHeader: hostPort(hop.host, hop.port, defaultPort(hop.scheme)),
        path: hop.path,
        timeoutMs: remaining,
        maxBytes: MAX_BODY_BYTES,
        tls: hop.scheme === 'https',
      });
    } catch (err) {
      if (err instanceof ConnectError) return invalid(connectionProblem(err, where, url), id, records);
      throw err;
    }

    const location = res.headers['location'];
    if (REDIRECT_STATUS.has(res.status) && location !== undefined) {
      if (redirects >= MAX_REDIRECTS) {
        return invalid(
          new AcmeProblem('connection', `Too many redirects (more than ${MAX_REDIRECTS}) following ${url}`),
          id,
          records,
        );
      }
      const next = redirectTarget(location, url, opts);
      if (next instanceof AcmeProblem) return invalid(next, id, records);
      const outOfScope = opts.redirectScope?.(hopIdentifier(next.host));
      if (outOfScope) {
        return invalid(
          new AcmeProblem('connection', `redirect from ${url} to ${next.host} refused: ${outOfScope}`),
          id,
          records,
        );
      }
      hop = next;
      continue;
    }
    if (res.status !== 200) {
      return invalid(
        new AcmeProblem('unauthorized', `${where}: Invalid response from ${url}: ${res.status}`),
        id,
        records,
      );
    }
    const text = new TextDecoder().decode(res.body);
    // RFC 8555 §8.3: the server ignores whitespace after the key authorization.
    if (!res.truncated && text.trimEnd() === input.keyAuthorization) return valid(records);
    return invalid(
      new AcmeProblem(
        'incorrectResponse',
        `The key authorization file from the server did not match this challenge. ` +
          `Expected ${JSON.stringify(input.keyAuthorization)}; ${bodySummary(res.body, res.truncated, input)}`,
      ),
      id,
      records,
    );
  }
}

/** A redirect's host as the identifier a scope judges: an IP literal is an `ip` identifier. */
function hopIdentifier(host: string): Identifier {
  return parseIp(host) ? { type: 'ip', value: host } : { type: 'dns', value: host };
}

/**
 * What may be said about a body that is not the key authorization, without quoting it: its size,
 * and whether it is this token's key authorization for another account key (the usual mistake after
 * a key rollover). Both come from comparing with what the client already knows.
 */
function bodySummary(body: Uint8Array, truncated: boolean, input: ChallengeInput): string {
  const size = truncated ? `more than ${MAX_BODY_BYTES} bytes` : `${body.length} bytes`;
  const text = truncated ? '' : new TextDecoder().decode(body).trimEnd();
  if (text.startsWith(`${input.token}.`) && /^[A-Za-z0-9_.-]+$/.test(text)) {
    return `the response body (${size}) is the key authorization of this token for another account key`;
  }
  return `the response body (${size}) is not the key authorization`;
}

function connectionProblem(err: ConnectError, where: string, url: string): AcmeProblem {
  switch (err.code) {
    case 'REFUSED':
      return new AcmeProblem('connection', `${where}: Connection refused fetching ${url}`);
    case 'TIMEOUT':
      return new AcmeProblem('connection', `${where}: Timeout during connect or read fetching ${url}`);
    case 'RESET':
      return new AcmeProblem('connection', `${where}: Connection reset by peer fetching ${url}`);
    case 'TLS':
      return new AcmeProblem('tls', `${where}: ${err.message} fetching ${url}`);
    default:
      return new AcmeProblem('connection', `${where}: Fetching ${url} failed: ${err.message}`);
  }
}

/**
 * RFC 8555 §8.3 lets the server follow redirects and §10.2 warns about where they lead; the rule itself
 * is Boulder's: http or https on ports 80 or 443 only (we also accept the configured http-01 port,
 * which tests and some internal setups move away from 80).
 */
export function redirectTarget(location: string, from: string, opts: ValidationOptions): Hop | AcmeProblem {
  let u: URL;
  try {
    u = new URL(location, from);
  } catch {
    return new AcmeProblem('connection', `Invalid redirect from ${from} to ${excerpt(location)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    return new AcmeProblem(
      'connection',
      `Invalid protocol scheme in redirect target ${excerpt(u.href)}: only http and https are followed`,
    );
  }
  const scheme = u.protocol === 'https:' ? 'https' : 'http';
  const port = u.port === '' ? defaultPort(scheme) : Number(u.port);
  if (port !== 80 && port !== 443 && port !== opts.http01Port) {
    return new AcmeProblem(
      'connection',
      `Invalid port in redirect target ${excerpt(u.href)}: only 80, 443 and ${opts.http01Port} are followed`,
    );
  }
  const rawHost = u.hostname.replace(/^\[(.*)\]$/, '$1');
  const ip = parseIp(rawHost);
  const host = ip ? formatIp(ip) : rawHost.replace(/\.$/, '');
  if (!ip && !isValidDnsName(host)) {
    return new AcmeProblem('connection', `Invalid host in redirect target ${excerpt(u.href)}`);
  }
  return { scheme, host, port, path: `${u.pathname}${u.search}` };
}
