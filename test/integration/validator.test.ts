// On-prem validation end to end: the signer on SoftHSM, the Node edge over HTTPS, the
// validator in its own role, and two pebble-challtestsrv instances: the edge's resolver does not
// know the internal names (no default A record), the validator's does. acme-client gets a
// certificate for an internal name with http-01, dns-01 and tls-alpn-01 only when the route sends
// it on-prem; with the route on `edge` the same order fails with a `dns` problem.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { after, before, describe, test } from 'node:test';
import acme from 'acme-client';
import { type ChallTestSrv, startChallTestSrv } from '../../harness/challtestsrv.ts';
import { type Http01Server, startHttp01Server } from '../../harness/http01.ts';
import { freePort } from '../../harness/ports.ts';
import { type System, startSystem } from '../support/system.ts';
import { startTlsAlpnServer, type TlsAlpnServer } from '../support/tlsalpn.ts';
import { verifyChain } from '../support/tools.ts';
import { acmeClient, type Responders, tryOrder } from '../support/validator-acme.ts';

const ROUTES = [
  { match: 'corp.internal', route: 'onprem' },
  { match: 'lab.corp.internal', route: 'edge' },
  { match: 'dmz.corp.internal', route: 'both' },
];

let sys: System;
let edgeDns: ChallTestSrv;
let internalDns: ChallTestSrv;
let http01: Http01Server;
let tlsAlpn: TlsAlpnServer;
let r: Responders;

acme.setLogger(() => {});

describe('on-prem validation through the validator', { timeout: 300_000 }, () => {
  before(async () => {
    edgeDns = await startChallTestSrv();
    // The edge's view of DNS: no name resolves unless a test adds it (internal names stay unknown).
    const res = await fetch(`${edgeDns.managementUrl}/set-default-ipv4`, {
      method: 'POST',
      body: JSON.stringify({ ip: '' }),
    });
    assert.equal(res.status, 200);
    internalDns = await startChallTestSrv();
    http01 = await startHttp01Server(await freePort());
    tlsAlpn = await startTlsAlpnServer();
    r = { http01, tlsAlpn, dns: internalDns };
    sys = await startSystem({
      dnsResolver: edgeDns.dnsAddress,
      http01Port: http01.port,
      validator: { dnsResolver: internalDns.dnsAddress, tlsAlpnPort: tlsAlpn.port },
      env: { EDGECA_VALIDATION_ROUTES: JSON.stringify(ROUTES), EDGECA_TLSALPN01_PORT: String(tlsAlpn.port) },
    });
    acme.axios.defaults.httpsAgent = new https.Agent({ ca: readFileSync(sys.caFile) });
  });
  after(async () => {
    await sys?.stop();
    await tlsAlpn?.close();
    await http01?.close();
    await internalDns?.close();
    await edgeDns?.close();
  });

  for (const type of ['http-01', 'dns-01', 'tls-alpn-01'] as const) {
    test(`issues a certificate for an internal name routed on-prem, over ${type}`, async () => {
      const name = `db-${type.replace(/-/g, '')}.corp.internal`;
      const out = await tryOrder(await acmeClient(sys.directoryUrl), r, name, type, { finalize: true });
      assert.equal(out.status, 'valid', JSON.stringify(out));
      assert.ok(out.chain);
      await verifyChain(out.chain, sys.caFile, { purpose: 'sslserver' });
    });
  }

  test('fails an internal name routed to the edge with a clear dns problem', async () => {
    const out = await tryOrder(await acmeClient(sys.directoryUrl), r, 'db9.lab.corp.internal', 'http-01');
    assert.equal(out.status, 'invalid');
    assert.equal(out.error?.type, 'urn:ietf:params:acme:error:dns', JSON.stringify(out));
    assert.match(out.error?.detail ?? '', /db9\.lab\.corp\.internal/);
  });

  test('routes both: invalid when only the inside sees the name, valid when both perspectives agree', async () => {
    const c = await acmeClient(sys.directoryUrl);
    const inside = await tryOrder(c, r, 'inside.dmz.corp.internal', 'http-01');
    assert.equal(inside.status, 'invalid');
    assert.equal(inside.error?.type, 'urn:ietf:params:acme:error:dns');
    assert.match(inside.error?.detail ?? '', /both must agree/);
    await edgeDns.addA('shared.dmz.corp.internal', '127.0.0.1');
    assert.equal((await tryOrder(c, r, 'shared.dmz.corp.internal', 'http-01')).status, 'valid');
  });

  test('an on-prem tls-alpn-01 failure carries the validator problem (no validation certificate)', async () => {
    const c = await acmeClient(sys.directoryUrl);
    const out = await tryOrder(c, r, 'nocert.corp.internal', 'tls-alpn-01', { answer: false });
    assert.equal(out.status, 'invalid');
    // The responder aborts the handshake for an unknown SNI: a reset (connection) or a TLS alert (tls).
    assert.match(out.error?.type ?? '', /^urn:ietf:params:acme:error:(tls|connection)$/, JSON.stringify(out));
    assert.match(out.error?.detail ?? '', /^on-prem validation: .*tls-alpn-01 handshake/);
  });

  test('a challenge stays processing while the validator is unreachable, and completes once it is back', async () => {
    await sys.stopValidator();
    let out: Awaited<ReturnType<typeof tryOrder>>;
    try {
      const c = await acmeClient(sys.directoryUrl);
      out = await tryOrder(c, r, 'away.corp.internal', 'http-01', { waitMs: 6000 });
      assert.equal(out.status, 'processing', JSON.stringify(out));
    } finally {
      await sys.startValidator();
    }
    assert.ok(sys.logs.some((l) => l.event === 'validation-deferred'));
    // The next read after the stale time (30 s) retries; the signed answer then settles it.
    const later = await out.poll(60_000);
    assert.equal(later.status, 'valid', JSON.stringify(later));
  });

  test('a dead validator listed first: the next one validates; /ready shows both by index, no address', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    await sys.restartEdge({ EDGECA_VALIDATOR_URL: `${dead},${sys.validatorUrl}` });
    const out = await tryOrder(await acmeClient(sys.directoryUrl), r, 'failover.corp.internal', 'http-01');
    assert.equal(out.status, 'valid', JSON.stringify(out));
    const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      https
        .get(`${sys.edgeUrl}/ready`, { ca: readFileSync(sys.caFile) }, (m) => {
          let text = '';
          m.on('data', (c: Buffer) => {
            text += c.toString('utf8');
          });
          m.on('end', () => resolve({ status: m.statusCode ?? 0, text }));
        })
        .on('error', reject);
    });
    assert.equal(res.status, 200, res.text);
    for (const u of [dead, sys.validatorUrl ?? '']) assert.ok(!res.text.includes(new URL(u).host), res.text);
    const check = (
      JSON.parse(res.text) as { checks: { name: string; peers?: { index: number; ok: boolean }[] }[] }
    ).checks.find((c) => c.name === 'validator');
    assert.deepEqual(
      check?.peers?.map((p) => [p.index, p.ok]),
      [
        [0, false],
        [1, true],
      ],
    );
  });

  test('with the route switched to edge, the same internal name fails with a dns problem', async () => {
    await sys.restartEdge({ EDGECA_VALIDATION_ROUTES: '[{"match":"corp.internal","route":"edge"}]' });
    const out = await tryOrder(await acmeClient(sys.directoryUrl), r, 'db-http01.corp.internal', 'http-01');
    assert.equal(out.status, 'invalid');
    assert.equal(out.error?.type, 'urn:ietf:params:acme:error:dns');
  });
});
