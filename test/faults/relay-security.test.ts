// The signer refuses AND audits (invariant 2 in docs/architecture.md): a relay request signed by an
// edge key it does not pin, one signed by the wrong key under a pinned kid, a replayed request,
// and a request outside its ceiling. Each answer is a problem document; each refusal is a row in
// the hash-chained audit log, which still verifies afterwards.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { createClient } from '@libsql/client';
import { exportJWK, generateKeyPair } from 'jose';
import {
  importRelayPrivateKey,
  RELAY_CONTENT_TYPE,
  type SignRequest,
  signRelay,
} from '../../shared/relay.ts';
import { makeCsr } from '../support/acme.ts';
import { type Rig, startRig } from './rig.ts';

const CLI = new URL('../../bin/edgeca.mjs', import.meta.url).pathname;
let rig: Rig;

before(async () => {
  rig = await startRig();
  await rig.start('signer');
});
after(async () => {
  await rig?.stop();
});

async function request(orderId: string, over: Partial<SignRequest> = {}) {
  const now = Date.now();
  return {
    op: 'sign' as const,
    orderId,
    accountId: 'acct-security',
    profile: 'default',
    csr: (await makeCsr(['sec.example.test'])).b64u,
    identifiers: [{ type: 'dns' as const, value: 'sec.example.test' }],
    notBefore: new Date(now).toISOString(),
    notAfter: new Date(now + 86_400_000).toISOString(),
    ...over,
  };
}

async function send(jws: string): Promise<Response> {
  return fetch(`${rig.signerUrl}/v1/sign`, {
    method: 'POST',
    headers: { 'content-type': RELAY_CONTENT_TYPE },
    body: jws,
  });
}

async function audit(): Promise<{ event: string; details: Record<string, unknown> }[]> {
  const c = createClient({ url: rig.signerDbUrl });
  try {
    const rows = (await c.execute('SELECT event, details FROM audit_log ORDER BY seq')).rows;
    return rows.map((r) => ({ event: String(r.event), details: JSON.parse(String(r.details)) }));
  } finally {
    c.close();
  }
}

async function refusedAndAudited(
  res: Response,
  match: (row: { event: string; details: Record<string, unknown> }) => boolean,
) {
  const text = await res.text();
  assert.ok(res.status === 401 || res.status === 403, `refused (HTTP ${res.status} ${text})`);
  assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
  assert.match(JSON.parse(text).type, /:unauthorized$/);
  assert.ok((await audit()).some(match), 'the refusal is in the audit log');
}

describe('relay requests the signer must refuse and audit', () => {
  it('refuses and audits a request signed by an edge key it does not pin', async () => {
    const rogue = await generateKeyPair('ES256', { extractable: true });
    const key = await importRelayPrivateKey({ ...(await exportJWK(rogue.privateKey)), kid: 'rogue-edge' });
    const res = await send(await signRelay(await request('order-rogue'), key));
    await refusedAndAudited(
      res,
      (r) =>
        r.event === 'refuse' && r.details.kid === 'rogue-edge' && r.details.rule === 'relay-authentication',
    );
  });

  it('refuses and audits a request under the pinned kid but signed by another key', async () => {
    const pinned = JSON.parse(readFileSync(rig.init.relayKeyFile, 'utf8')) as { kid: string };
    const other = await generateKeyPair('ES256', { extractable: true });
    const key = await importRelayPrivateKey({ ...(await exportJWK(other.privateKey)), kid: pinned.kid });
    const res = await send(await signRelay(await request('order-forged'), key));
    await refusedAndAudited(
      res,
      (r) =>
        r.event === 'refuse' && r.details.kid === pinned.kid && /signature/.test(String(r.details.detail)),
    );
  });

  it('refuses and audits a replayed request (same jti), after the first was served', async () => {
    const key = await importRelayPrivateKey(JSON.parse(readFileSync(rig.init.relayKeyFile, 'utf8')));
    const jws = await signRelay(await request('order-replay'), key);
    const first = await send(jws);
    assert.equal(first.status, 200, await first.clone().text());
    const res = await send(jws);
    await refusedAndAudited(res, (r) => r.event === 'replay' && r.details.orderId === 'order-replay');
  });

  it('refuses and audits a request outside the ceiling (lifetime beyond its maximum)', async () => {
    const key = await importRelayPrivateKey(JSON.parse(readFileSync(rig.init.relayKeyFile, 'utf8')));
    const now = Date.now();
    const req = await request('order-ceiling', { notAfter: new Date(now + 400 * 86_400_000).toISOString() });
    const res = await send(await signRelay(req, key));
    await refusedAndAudited(
      res,
      (r) =>
        r.event === 'refuse' && r.details.orderId === 'order-ceiling' && typeof r.details.rule === 'string',
    );
  });

  it('keeps a verifying audit chain through the refusals', () => {
    const r = spawnSync(
      process.execPath,
      [CLI, 'signer', 'audit-verify', '--config', rig.init.signerConfigFile],
      {
        env: { ...process.env, SOFTHSM2_CONF: rig.init.softhsmConf, NODE_TEST_CONTEXT: '' },
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    assert.equal(r.status, 0, `${r.stdout} ${r.stderr}`);
  });
});
