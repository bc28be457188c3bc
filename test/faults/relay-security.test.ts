// The signer refuses AND audits (invariant 2 in docs/architecture.md): a relay request signed by an
// edge key it does not pin, one signed by the wrong key under a pinned kid, a replayed request,
// a request outside its ceiling, and every other refusal of an authenticated request (a changed
// CSR, an unparsable one, a malformed request, a refused revocation). Each answer is a problem
// document; each refusal is a row in the hash-chained audit log, naming the rule with a bounded
// detail, and the log still verifies afterwards.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { createClient } from '@libsql/client';
import { exportJWK, generateKeyPair } from 'jose';
import { makeCsr } from '../../harness/csr.ts';
import { b64uEncode, pemToDers, toHex } from '../../shared/encoding.ts';
import {
  importRelayPrivateKey,
  RELAY_CONTENT_TYPE,
  type RelayKey,
  type RevokeRequest,
  type SignRequest,
  signRelay,
} from '../../shared/relay.ts';
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

async function send(jws: string, op: 'sign' | 'revoke' = 'sign'): Promise<Response> {
  return fetch(`${rig.signerUrl}/v1/${op}`, {
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
});

const edgeKey = (): Promise<RelayKey> =>
  importRelayPrivateKey(JSON.parse(readFileSync(rig.init.relayKeyFile, 'utf8')));

async function signed(req: Record<string, unknown>): Promise<Response> {
  return send(await signRelay(req as unknown as Omit<SignRequest, 'jti' | 'iat' | 'exp'>, await edgeKey()));
}

async function revoke(serial: unknown, reason: unknown): Promise<Response> {
  const body = { op: 'revoke', serial, reason } as unknown as Omit<RevokeRequest, 'jti' | 'iat' | 'exp'>;
  return send(await signRelay(body, await edgeKey()), 'revoke');
}

/** Issues a certificate through the signer; returns its serial (lowercase hex, as the signer keeps it). */
async function issued(orderId: string): Promise<{ serial: string; csr: string }> {
  const req = await request(orderId);
  const res = await signed(req);
  assert.equal(res.status, 200, await res.clone().text());
  const leaf = pemToDers(await res.text())[0]!;
  const { AsnConvert } = await import('@peculiar/asn1-schema');
  const { Certificate } = await import('@peculiar/asn1-x509');
  const serial = toHex(new Uint8Array(AsnConvert.parse(leaf, Certificate).tbsCertificate.serialNumber));
  return { serial, csr: req.csr };
}

type Row = { event: string; details: Record<string, unknown> };
const LONG = 'x'.repeat(5000);

describe('every refusal of an authenticated relay request is a refuse row naming its rule', () => {
  let issuedOrder: { serial: string; csr: string };
  let revokedSerial: string;
  before(async () => {
    issuedOrder = await issued('order-audit-issued');
    revokedSerial = (await issued('order-audit-revoked')).serial;
    const res = await revoke(revokedSerial, 1);
    assert.equal(res.status, 200, await res.clone().text());
  });

  const cases: {
    name: string;
    send: () => Promise<Response>;
    status: number;
    type: RegExp;
    rule: string;
    row: (details: Record<string, unknown>) => boolean;
  }[] = [
    {
      name: 'a different CSR for an order already issued (409)',
      send: async () => signed(await request('order-audit-issued')),
      status: 409,
      type: /:badCSR$/,
      rule: 'csrChanged',
      row: (d) => d.orderId === 'order-audit-issued' && d.serial === issuedOrder.serial,
    },
    {
      name: 'a CSR that is not base64url',
      send: async () => signed(await request('order-audit-b64', { csr: '%%not base64url%%' })),
      status: 400,
      type: /:malformed$/,
      rule: 'csrEncoding',
      row: (d) => d.orderId === 'order-audit-b64',
    },
    {
      name: 'a CSR that does not parse',
      send: async () =>
        signed(await request('order-audit-junk', { csr: b64uEncode(new Uint8Array(64).fill(7)) })),
      status: 400,
      type: /:badCSR$/,
      rule: 'csrUnparsable',
      row: (d) => d.orderId === 'order-audit-junk',
    },
    {
      name: 'a sign request without its accountId',
      send: async () => {
        const { accountId: _a, ...rest } = await request('order-audit-shape');
        return signed(rest);
      },
      status: 400,
      type: /:malformed$/,
      rule: 'requestShape',
      row: (d) => d.orderId === 'order-audit-shape',
    },
    {
      name: 'identifiers that are not an array',
      send: async () => signed({ ...(await request('order-audit-ids')), identifiers: 'sec.example.test' }),
      status: 400,
      type: /:malformed$/,
      rule: 'requestShape',
      row: (d) => d.orderId === 'order-audit-ids',
    },
    {
      name: 'a malformed identifier, its detail bounded',
      send: async () =>
        signed({ ...(await request('order-audit-badid')), identifiers: [{ type: 'ip', value: LONG }] }),
      status: 403,
      type: /:unauthorized$/,
      rule: 'identifiers',
      row: (d) => d.orderId === 'order-audit-badid' && JSON.stringify(d).length < 2000,
    },
    {
      name: 'a malformed request with a huge orderId, recorded bounded',
      send: async () => signed({ ...(await request(LONG)), notBefore: 'yesterday' }),
      status: 400,
      type: /:malformed$/,
      rule: 'requestShape',
      row: (d) => typeof d.orderId === 'string' && d.orderId.startsWith('xxx') && d.orderId.length <= 200,
    },
    {
      name: 'a revocation whose serial is not hex',
      send: () => revoke('not-a-serial', 1),
      status: 400,
      type: /:malformed$/,
      rule: 'serialFormat',
      row: (d) => d.serial === 'not-a-serial',
    },
    {
      name: 'a revocation with a reason RFC 5280 does not allow (7)',
      send: () => revoke(issuedOrder.serial, 7),
      status: 400,
      type: /:badRevocationReason$/,
      rule: 'revocationReason',
      row: (d) => d.serial === issuedOrder.serial && d.reason === 7,
    },
    {
      name: 'a revocation of a serial the signer never issued',
      send: () => revoke('0badc0de0badc0de', 1),
      status: 404,
      type: /:malformed$/,
      rule: 'unknownSerial',
      row: (d) => d.serial === '0badc0de0badc0de',
    },
    {
      name: 'a revocation of a certificate already revoked',
      send: () => revoke(revokedSerial, 1),
      status: 400,
      type: /:alreadyRevoked$/,
      rule: 'alreadyRevoked',
      row: (d) => d.serial === revokedSerial,
    },
  ];

  for (const c of cases) {
    it(`refuses and audits ${c.name}`, async () => {
      const before = (await audit()).length;
      const res = await c.send();
      const text = await res.text();
      assert.equal(res.status, c.status, text);
      assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
      assert.match(JSON.parse(text).type, c.type);
      const rows: Row[] = (await audit()).slice(before);
      const refusal = rows.find((r) => r.event === 'refuse');
      assert.ok(refusal, `a refuse row was written (new rows: ${JSON.stringify(rows)})`);
      assert.equal(refusal.details.rule, c.rule, JSON.stringify(refusal.details));
      assert.equal(typeof refusal.details.detail, 'string');
      assert.ok(String(refusal.details.detail).length <= 300, 'the detail is bounded');
      assert.ok(
        c.row(refusal.details),
        `the row names the request: ${JSON.stringify(refusal.details).slice(0, 500)}`,
      );
    });
  }
});

describe('the audit log after the refusals', () => {
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
