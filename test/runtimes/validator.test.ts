// On-prem validation with the edge on Deno: the edge on Deno (no raw TLS, so no tls-alpn-01 of its own) with
// the validator on-prem. Its resolver does not know the internal names; the validator's does. lego
// gets a certificate for an internal name over http-01 and acme-client over tls-alpn-01, both
// validated on-prem; with the route switched to `edge`, the same order fails with a `dns` problem.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import acme from 'acme-client';
import { type ChallTestSrv, startChallTestSrv } from '../../harness/challtestsrv.ts';
import { startHttp01Server } from '../../harness/http01.ts';
import { freePort } from '../../harness/ports.ts';
import { httpsFetch } from '../support/https-fetch.ts';
import { type System, startSystem } from '../support/system.ts';
import { startTlsAlpnServer, type TlsAlpnServer } from '../support/tlsalpn.ts';
import { requireTool, runTool, verifyChain } from '../support/tools.ts';
import { acmeClient, type Responders, tryOrder } from '../support/validator-acme.ts';
import { type RunningEdge, startDenoEdge } from './edges.ts';

let sys: System;
let edgeDns: ChallTestSrv;
let internalDns: ChallTestSrv;
let tlsAlpn: TlsAlpnServer;
let edge: RunningEdge | undefined;
let r: Responders;
let http01Port: number;
let work: string;
let edgeEnv: Record<string, string>;
const dbUrl = () => `file:${join(sys.dir, 'deno-validator-edge.db')}`;

acme.setLogger(() => {});

async function startEdge(routes: unknown[]): Promise<RunningEdge> {
  await edge?.stop();
  edge = await startDenoEdge({
    sys,
    dbUrl: dbUrl(),
    dnsResolver: edgeDns.dnsAddress,
    http01Port,
    fetch: httpsFetch(sys.caFile),
    env: { ...edgeEnv, EDGECA_VALIDATION_ROUTES: JSON.stringify(routes) },
  });
  return edge;
}

describe('the edge on Deno with the on-prem validator', { timeout: 400_000 }, () => {
  before(async () => {
    edgeDns = await startChallTestSrv();
    const res = await fetch(`${edgeDns.managementUrl}/set-default-ipv4`, {
      method: 'POST',
      body: JSON.stringify({ ip: '' }),
    });
    assert.equal(res.status, 200);
    internalDns = await startChallTestSrv();
    tlsAlpn = await startTlsAlpnServer();
    http01Port = await freePort();
    sys = await startSystem({
      http01Port,
      validator: { dnsResolver: internalDns.dnsAddress, tlsAlpnPort: tlsAlpn.port },
    });
    edgeEnv = {
      EDGECA_EAB_REQUIRED: 'false',
      EDGECA_VALIDATOR_URL: sys.validatorUrl ?? '',
      EDGECA_VALIDATOR_KEY: readFileSync(sys.validatorPublicKeyFile ?? '', 'utf8'),
    };
    // http-01 answers come from lego on http01Port; this responder only fills the type.
    r = { http01: await startHttp01Server(), tlsAlpn, dns: internalDns };
    work = mkdtempSync(join(tmpdir(), 'edgeca-validator-lego-'));
    acme.axios.defaults.httpsAgent = new https.Agent({ ca: readFileSync(sys.caFile) });
    await startEdge([{ match: 'corp.internal', route: 'onprem' }]);
  });
  after(async () => {
    await edge?.stop();
    await sys?.stop();
    await r?.http01.close();
    await tlsAlpn?.close();
    await internalDns?.close();
    await edgeDns?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('lego gets a certificate for an internal-only name over http-01, validated on-prem', async () => {
    const lego = requireTool('lego', 'lego');
    const name = 'lego.corp.internal';
    const out = await runTool(
      lego,
      [
        '--server',
        `${edge?.baseUrl}/directory`,
        '--accept-tos',
        '--email',
        'ops@example.com',
        '--path',
        work,
        '--http',
        '--http.port',
        `127.0.0.1:${http01Port}`,
        '-d',
        name,
        'run',
      ],
      { env: { ...process.env, LEGO_CA_CERTIFICATES: sys.caFile }, timeoutMs: 120_000 },
    );
    assert.equal(out.code, 0, `lego failed:\n${out.stdout}\n${out.stderr}\n${edge?.output().slice(-3000)}`);
    await verifyChain(readFileSync(join(work, 'certificates', `${name}.crt`), 'utf8'), sys.caFile, {
      purpose: 'sslserver',
    });
  });

  test('acme-client gets a certificate over tls-alpn-01, offered by Deno only because the route is on-prem', async () => {
    const out = await tryOrder(
      await acmeClient(`${edge?.baseUrl}/directory`),
      r,
      'alpn.corp.internal',
      'tls-alpn-01',
      {
        finalize: true,
      },
    );
    assert.equal(out.status, 'valid', JSON.stringify(out));
    assert.ok(out.chain);
    await verifyChain(out.chain, sys.caFile, { purpose: 'sslserver' });
  });

  test('with the route switched to edge: no tls-alpn-01 offered, and http-01 fails with a dns problem', async () => {
    await startEdge([{ match: 'corp.internal', route: 'edge' }]);
    const c = await acmeClient(`${edge?.baseUrl}/directory`);
    const out = await tryOrder(c, r, 'lego.corp.internal', 'http-01', { answer: false });
    assert.deepEqual(out.offered, ['http-01', 'dns-01', 'dns-account-01']);
    assert.equal(out.status, 'invalid');
    assert.equal(out.error?.type, 'urn:ietf:params:acme:error:dns', JSON.stringify(out));
    assert.match(out.error?.detail ?? '', /lego\.corp\.internal/);
  });
});
