// acme-client helpers for the on-prem validation tests: a client for a directory, one order for one
// name answered by the chosen challenge type through test responders, and the challenge's final
// state (so a test can read the exact problem when it fails).
import assert from 'node:assert/strict';
import acme from 'acme-client';
import type { ChallTestSrv } from '../../harness/challtestsrv.ts';
import type { Http01Server } from '../../harness/http01.ts';
import type { ChallengeType } from '../../validation/registry.ts';
import type { TlsAlpnServer } from './tlsalpn.ts';

export interface Responders {
  http01: Http01Server;
  tlsAlpn: TlsAlpnServer;
  /** where dns-01 TXT records go (the internal DNS for on-prem names) */
  dns: ChallTestSrv;
}

export interface ChallengeOutcome {
  status: string;
  error?: { type: string; detail: string };
  offered: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function acmeClient(directoryUrl: string): Promise<acme.Client> {
  return new acme.Client({
    directoryUrl,
    accountKey: await acme.crypto.createPrivateEcdsaKey(),
    backoffAttempts: 30,
    backoffMin: 200,
    backoffMax: 1000,
  });
}

async function answer(
  r: Responders,
  authz: acme.Authorization,
  ch: { type: string; token: string },
  ka: string,
): Promise<void> {
  const name = authz.identifier.value;
  if (ch.type === 'http-01') r.http01.set(ch.token, ka);
  else if (ch.type === 'dns-01') await r.dns.setTxt(`_acme-challenge.${name}`, ka);
  else {
    const [key, cert] = await acme.crypto.createAlpnCertificate(authz, ka);
    r.tlsAlpn.set(name, key, cert);
  }
}

/**
 * One order for `name`, answered with `type`, polled (bounded by `waitMs`) until the challenge
 * leaves pending/processing; with `finalize`, a valid order is finalized and the chain returned.
 */
export async function tryOrder(
  c: acme.Client,
  r: Responders,
  name: string,
  type: ChallengeType,
  opts: {
    waitMs?: number;
    finalize?: boolean /** false: respond without serving the answer */;
    answer?: boolean;
  } = {},
): Promise<ChallengeOutcome & { chain?: string; poll(waitMs: number): Promise<ChallengeOutcome> }> {
  await c.createAccount({ termsOfServiceAgreed: true }).catch(() => {});
  const order = await c.createOrder({ identifiers: [{ type: 'dns', value: name }] });
  const [authz] = await c.getAuthorizations(order);
  assert.ok(authz);
  const offered = authz.challenges.map((x) => x.type);
  const ch = authz.challenges.find((x) => x.type === type);
  const poll = async (waitMs: number): Promise<ChallengeOutcome> => {
    const deadline = Date.now() + waitMs;
    let state: { status: string; error?: { type: string; detail: string } } = { status: 'processing' };
    while (Date.now() < deadline) {
      const [now] = await c.getAuthorizations(order);
      const seen = now?.challenges.find((x) => x.url === ch?.url) as typeof state | undefined;
      if (seen) state = seen;
      if (state.status !== 'pending' && state.status !== 'processing') break;
      await sleep(250);
    }
    const got: ChallengeOutcome = { status: state.status, offered };
    if (state.error) got.error = { type: state.error.type, detail: state.error.detail };
    return got;
  };
  if (!ch) return { status: 'not-offered', offered, poll };
  if (opts.answer !== false) await answer(r, authz, ch, await c.getChallengeKeyAuthorization(ch));
  await c.completeChallenge(ch);
  const out: ChallengeOutcome & { chain?: string; poll: typeof poll } = {
    ...(await poll(opts.waitMs ?? 20_000)),
    poll,
  };
  if (opts.finalize && out.status === 'valid') {
    const [, csr] = await acme.crypto.createCsr({ commonName: name, altNames: [name] });
    // acme-client's waitForValidStatus answers the resource without its URL: put it back.
    const ready = { ...(await c.waitForValidStatus(order)), url: order.url };
    out.chain = await c.getCertificate(await c.finalizeOrder(ready, csr));
  }
  return out;
}
