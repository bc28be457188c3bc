// Where webhooks may post. An admin names the URL, but a token thief or a careless paste must not
// turn the edge into a proxy into its own network (SSRF): https only; loopback, link-local, cloud
// metadata and the other never-dialled ranges always refused; private ranges only when the events
// setting allowPrivateTargets says so. The checks run when an endpoint is registered and again
// before every attempt, on every address the name resolves to at that moment, because DNS answers
// change. The one gap left: fetch resolves the name once more itself, so a name whose answers
// change between that check and the connection (DNS rebinding with a TTL of zero) is not caught.
import { formatIp, parseIp } from '../../shared/identifiers.ts';
import { type AddressPolicy, checkAddress } from '../../validation/address-policy.ts';
import { Deadline, resolveHost } from '../../validation/resolve.ts';
import type { EdgeRuntime } from '../platform/types.ts';

export interface TargetRules {
  allowPrivate: boolean;
  /** EDGECA_WEBHOOK_TEST_TARGETS: http:// and loopback allowed (tests only) */
  testTargets: boolean;
}

function addressPolicy(r: TargetRules): AddressPolicy {
  return { allowLoopback: r.testTargets, allowPrivate: r.allowPrivate, allowLinkLocal: false };
}

/** The URL's own faults (scheme, credentials, an IP literal in a refused range); null when fine. */
export function checkWebhookUrl(raw: string, r: TargetRules): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return `"${raw}" is not a URL`;
  }
  if (url.protocol !== 'https:' && !(r.testTargets && url.protocol === 'http:'))
    return `${url.protocol}// is not allowed: webhook URLs must be https://`;
  if (url.username || url.password)
    return 'a webhook URL must not carry credentials; the signature authenticates';
  if (url.hash) return 'a webhook URL must not have a #fragment';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const literal = parseIp(host);
  if (literal) {
    const refused = checkAddress(formatIp(literal), addressPolicy(r), 'webhooks');
    if (refused) return refused.message;
  }
  return null;
}

/** Resolves the URL's host and checks every address; a refusal or DNS failure as a message. */
export async function checkResolvedTarget(
  runtime: EdgeRuntime,
  raw: string,
  r: TargetRules,
  timeoutMs: number,
): Promise<string | null> {
  const fault = checkWebhookUrl(raw, r);
  if (fault) return fault;
  const host = new URL(raw).hostname.replace(/^\[|\]$/g, '');
  try {
    const { addresses } = await resolveHost(runtime, host, new Deadline(timeoutMs));
    for (const a of addresses) {
      const refused = checkAddress(a, addressPolicy(r), 'webhooks');
      if (refused) return `${host} resolves to ${a}: ${refused.message}`;
    }
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}
