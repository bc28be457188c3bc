// The signer over real HTTP on 127.0.0.1 with a real libSQL file, a software CA key behind a
// counting CaSigner and the software certificate tools (test/support/signer-service.ts).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { b64uEncode } from '../shared/encoding.ts';
import { type RelayKey, signRelay } from '../shared/relay.ts';
import {
  edgeKeyPair,
  makeCsr,
  type SoftCa,
  softCa,
  softTools,
  testConfig,
  writeAnswerKey,
} from '../test/support/signer-service.ts';
import type { SignerConfig } from './config.ts';
import { type RunningSigner, startSigner } from './server.ts';
import type { CertTools } from './service/types.ts';

const dir = mkdtempSync(join(tmpdir(), 'edgeca-signer-'));
let ca: SoftCa;
let tools: CertTools;
let edge: RelayKey;
let stranger: RelayKey;
let config: SignerConfig;
let signer: RunningSigner;

async function start(): Promise<RunningSigner> {
  return startSigner({ config, baseDir: dir, deps: { signer: ca.signer, tools, log: () => {} } });
}

before(async () => {
  ca = await softCa();
  tools = await softTools(ca.issuerDer, ca.signer.spki);
  const e = await edgeKeyPair('edge-1');
  edge = e.priv;
  stranger = (await edgeKeyPair('edge-1')).priv;
  writeFileSync(join(dir, 'issuer.pem'), ca.issuerPem);
  writeFileSync(join(dir, 'root.pem'), ca.rootPem);
  await writeAnswerKey(dir);
  config = testConfig([e.pubJwk], 'file:signer.db');
  signer = await start();
});
after(async () => {
  await signer.close();
  rmSync(dir, { recursive: true, force: true });
});

let orders = 0;
async function signBody(over: Record<string, unknown> = {}, names = ['a.internal.test']) {
  const csr = b64uEncode(await makeCsr({ dns: names }));
  const now = Date.now();
  return {
    op: 'sign' as const,
    orderId: `order-${++orders}`,
    accountId: 'acct-1',
    profile: 'default',
    csr,
    identifiers: names.map((value) => ({ type: 'dns' as const, value })),
    notBefore: new Date(now).toISOString(),
    notAfter: new Date(now + 86400_000).toISOString(),
    rid: `rid-${orders}`,
    ...over,
  };
}

async function post(path: string, jws: string, url = signer.url): Promise<Response> {
  return fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/jose' },
    body: jws,
  });
}

const sign = async (
  body: Awaited<ReturnType<typeof signBody>>,
  key = edge,
  opts: { lifetime?: number } = {},
) => post('/v1/sign', await signRelay(body, key, opts.lifetime ?? 60));

function openssl(args: string[], input?: string): string {
  return execFileSync('openssl', args, { cwd: dir, encoding: 'utf8', ...(input ? { input } : {}) });
}

test('signs a CSR into a chain that openssl verifies, root excluded', async () => {
  const res = await sign(await signBody({}, ['a.internal.test', 'b.internal.test']));
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(res.headers.get('content-type'), 'application/pem-certificate-chain');
  const chain = await res.text();
  assert.equal(chain.match(/BEGIN CERTIFICATE/g)?.length, 2);
  const [leaf] = chain.split(/(?<=-----END CERTIFICATE-----\n)/);
  writeFileSync(join(dir, 'leaf.pem'), leaf ?? '');
  writeFileSync(join(dir, 'untrusted.pem'), ca.issuerPem);
  const out = openssl([
    'verify',
    '-CAfile',
    'root.pem',
    '-untrusted',
    'untrusted.pem',
    '-purpose',
    'sslserver',
    'leaf.pem',
  ]);
  assert.match(out, /leaf.pem: OK/);
  assert.match(
    openssl(['x509', '-noout', '-ext', 'subjectAltName', '-in', 'leaf.pem']),
    /DNS:a.internal.test/,
  );
});

const refusals: [string, () => Promise<Response>, number, RegExp][] = [
  [
    'refuses an unknown kid',
    async () => post('/v1/sign', await signRelay(await signBody(), { ...edge, kid: 'nope' })),
    403,
    /not pinned/,
  ],
  ['refuses a bad signature', async () => sign(await signBody(), stranger), 403, /does not verify/],
  [
    'refuses an exp in the past',
    async () => {
      const past = Math.floor(Date.now() / 1000) - 120;
      return post('/v1/sign', await forge({ iat: past - 10, exp: past }));
    },
    403,
    /expired|too old/,
  ],
  [
    'refuses an exp more than 5 minutes ahead',
    async () => sign(await signBody(), edge, { lifetime: 900 }),
    403,
    /ahead/,
  ],
  [
    'refuses a name outside the ceiling',
    async () => sign(await signBody({}, ['api.evil.test'])),
    403,
    /dnsSuffixes/,
  ],
  [
    'refuses a CSR that does not match the identifiers',
    async () => sign({ ...(await signBody()), identifiers: [{ type: 'dns', value: 'other.internal.test' }] }),
    403,
    /csrIdentifiers/,
  ],
  [
    'refuses a wrong content type',
    async () =>
      fetch(`${signer.url}/v1/sign`, { method: 'POST', body: await signRelay(await signBody(), edge) }),
    415,
    /application\/jose/,
  ],
  ['refuses a body over 64 KiB', async () => post('/v1/sign', 'x'.repeat(70 * 1024)), 413, /exceeds/],
  ['answers 404 for an unknown path', async () => post('/v1/nope', 'x'), 404, /no such/],
];

async function forge(claims: { iat: number; exp: number }): Promise<string> {
  const { CompactSign } = await import('jose');
  const payload = { ...(await signBody()), jti: `forged-${Math.random()}`, ...claims };
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: edge.alg, kid: edge.kid })
    .sign(edge.key);
}

for (const [name, send, status, detail] of refusals) {
  test(name, async () => {
    const res = await send();
    assert.equal(res.status, status);
    assert.equal(res.headers.get('content-type'), 'application/problem+json');
    const doc = (await res.json()) as { type: string; detail: string };
    assert.match(doc.type, /^urn:ietf:params:acme:error:/);
    assert.match(doc.detail, detail);
  });
}

test('refuses a replayed jti, also after a restart, and audits it', async () => {
  const jws = await signRelay(await signBody(), edge);
  assert.equal((await post('/v1/sign', jws)).status, 200);
  assert.equal((await post('/v1/sign', jws)).status, 403);
  await signer.close();
  signer = await start();
  const res = await post('/v1/sign', jws);
  assert.equal(res.status, 403);
  assert.match(((await res.json()) as { detail: string }).detail, /replayed/);
});

test('a different CSR for an issued order is a 409', async () => {
  const body = await signBody();
  assert.equal((await sign(body)).status, 200);
  const res = await sign({ ...body, csr: b64uEncode(await makeCsr({ dns: ['a.internal.test'] })) });
  assert.equal(res.status, 409);
});

test('the same order twice returns the identical certificate with one signature', async () => {
  const body = await signBody();
  const before = ca.signer.calls;
  const a = await (await sign(body)).text();
  const b = await (await sign(body)).text();
  assert.equal(a, b);
  assert.equal(ca.signer.calls - before, 1);
});

test('20 concurrent requests for one order cause exactly one signature', async () => {
  const body = await signBody();
  const before = ca.signer.calls;
  const results = await Promise.all(
    Array.from({ length: 20 }, () => sign(body).then(async (r) => [r.status, await r.text()] as const)),
  );
  assert.ok(results.every(([s]) => s === 200));
  assert.equal(new Set(results.map(([, t]) => t)).size, 1);
  assert.equal(ca.signer.calls - before, 1);
});

test('HSM unavailable answers 503 with Retry-After and keeps the intent; a retry completes it', async () => {
  const body = await signBody();
  ca.signer.unavailable = true;
  const res = await sign(body);
  const health = await fetch(`${signer.url}/v1/health`);
  ca.signer.unavailable = false;
  assert.equal(res.status, 503);
  assert.ok(res.headers.get('retry-after'));
  assert.equal(((await res.json()) as { type: string }).type, 'urn:ietf:params:acme:error:serverInternal');
  assert.equal(((await health.json()) as { hsm: string }).hsm, 'unavailable');
  const retry = await sign(body);
  assert.equal(retry.status, 200);
  assert.equal(((await (await fetch(`${signer.url}/v1/health`)).json()) as { hsm: string }).hsm, 'ok');
});

test('a restart in the middle of a batch leaves every order with exactly one certificate', async () => {
  const bodies = await Promise.all(Array.from({ length: 12 }, () => signBody()));
  const first = await Promise.all(
    bodies.map(async (b, i) => {
      if (i === 4) void signer.close();
      return sign(b)
        .then(async (r) => (r.status === 200 ? r.text() : undefined))
        .catch(() => undefined);
    }),
  );
  await signer.close();
  signer = await start();
  const second = await Promise.all(bodies.map(async (b) => (await sign(b)).text()));
  for (const [i, pem] of first.entries())
    if (pem) assert.equal(second[i], pem, `order ${i} changed certificate`);
  const serials = second.map((pem) => openssl(['x509', '-noout', '-serial'], pem));
  assert.equal(new Set(serials).size, bodies.length);
});

test('revokes a certificate, refuses bad reasons, and the CRL lists it', async () => {
  const chain = await (await sign(await signBody())).text();
  const serial = openssl(['x509', '-noout', '-serial'], chain).trim().split('=')[1]?.toLowerCase() ?? '';
  const revoke = async (s: string, reason: number) =>
    post('/v1/revoke', await signRelay({ op: 'revoke', serial: s, reason }, edge));
  assert.equal((await revoke(serial, 7)).status, 400);
  assert.equal((await revoke('00ff', 1)).status, 404);
  const ok = await revoke(serial, 1);
  assert.equal(ok.status, 200, await ok.clone().text());
  const again = await revoke(serial, 1);
  assert.equal(again.status, 400);
  assert.match(((await again.json()) as { type: string }).type, /alreadyRevoked/);
  const crl = await fetch(`${signer.url}/v1/crl`);
  assert.equal(crl.headers.get('content-type'), 'application/pkix-crl');
  writeFileSync(join(dir, 'crl.der'), Buffer.from(await crl.arrayBuffer()));
  const text = openssl([
    'crl',
    '-inform',
    'DER',
    '-in',
    'crl.der',
    '-noout',
    '-text',
    '-CAfile',
    'untrusted.pem',
  ]);
  assert.match(text, new RegExp(serial.replace(/^0+/, ''), 'i'));
  assert.match(text, /Key Compromise/);
  openssl(['crl', '-inform', 'DER', '-in', 'crl.der', '-noout', '-verify', '-CAfile', 'untrusted.pem']);
});

test('the audit chain verifies after all of the above', async () => {
  const got = await signer.service.store.verifyAudit();
  assert.equal(got.ok, true, got.reason);
  assert.ok(got.rows > 10);
});

test('signs with the production builders (signer/x509, shared/csr) into a chain openssl verifies', async () => {
  const { loadCertTools } = await import('./service/tools.ts');
  const cfg = { ...config, database: 'file:signer-real.db' };
  const real = await startSigner({
    config: cfg,
    baseDir: dir,
    deps: { signer: ca.signer, tools: await loadCertTools(cfg, ca.issuerDer), log: () => {} },
  });
  try {
    const res = await post('/v1/sign', await signRelay(await signBody(), edge), real.url);
    assert.equal(res.status, 200, await res.clone().text());
    const [leaf] = (await res.text()).split(/(?<=-----END CERTIFICATE-----\n)/);
    writeFileSync(join(dir, 'leaf-real.pem'), leaf ?? '');
    const verified = openssl([
      'verify',
      '-CAfile',
      'root.pem',
      '-untrusted',
      'untrusted.pem',
      'leaf-real.pem',
    ]);
    assert.match(verified, /OK/);
    assert.equal((await fetch(`${real.url}/v1/crl`)).status, 200);
  } finally {
    await real.close();
  }
});
