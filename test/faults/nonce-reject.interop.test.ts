// Pebble-style random nonce rejection: with EDGECA_NONCE_REJECT_PERCENT=30 the edge
// refuses about a third of good nonces with badNonce (RFC 8555 §6.5), and real clients — acme-client
// and lego — must still get their certificates by retrying with the fresh nonce they were given.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import acme from 'acme-client';
import { type ChallTestSrv, startChallTestSrv } from '../../harness/challtestsrv.ts';
import { type Http01Server, startHttp01Server } from '../../harness/http01.ts';
import { freePort } from '../../harness/ports.ts';
import { newKey, TestAcme } from '../support/acme.ts';
import { httpsFetch } from '../support/https-fetch.ts';
import { type System, startSystem } from '../support/system.ts';
import { requireTool, runTool, verifyChain } from '../support/tools.ts';

let sys: System;
let dns: ChallTestSrv;
let http01: Http01Server;
let legoPort: number;
acme.setLogger(() => {});

describe('clients recover from random nonce rejection', { timeout: 300_000 }, () => {
  before(async () => {
    dns = await startChallTestSrv();
    http01 = await startHttp01Server(await freePort());
    legoPort = await freePort();
    sys = await startSystem({
      dnsResolver: dns.dnsAddress,
      http01Port: http01.port,
      env: { EDGECA_NONCE_REJECT_PERCENT: '30' },
    });
    acme.axios.defaults.httpsAgent = new https.Agent({ ca: readFileSync(sys.caFile) });
  });
  after(async () => {
    await sys?.stop();
    await http01?.close();
    await dns?.close();
  });

  test('the edge refuses some good nonces with badNonce (the mode is on)', async () => {
    const a = await new TestAcme(httpsFetch(sys.caFile), sys.directoryUrl, await newKey()).init();
    let bad = 0;
    for (let i = 0; i < 40; i++) {
      const res = await a.post(a.dir.newAccount, { onlyReturnExisting: true }, { useJwk: true });
      const doc = (await res.json()) as { type: string };
      if (doc.type === 'urn:ietf:params:acme:error:badNonce') bad++;
      else assert.equal(doc.type, 'urn:ietf:params:acme:error:accountDoesNotExist');
    }
    assert.ok(bad >= 3 && bad <= 30, `${bad} of 40 nonces refused`);
  });

  test('acme-client retries and gets its certificate', async () => {
    const client = new acme.Client({
      directoryUrl: sys.directoryUrl,
      accountKey: await acme.crypto.createPrivateEcdsaKey(),
    });
    const [, csr] = await acme.crypto.createCsr({ altNames: ['reject.acme-client.test'] });
    const chain = await client.auto({
      csr,
      termsOfServiceAgreed: true,
      skipChallengeVerification: true,
      challengePriority: ['http-01'],
      challengeCreateFn: async (_a, ch: { token: string }, keyAuthorization) =>
        http01.set(ch.token, keyAuthorization),
      challengeRemoveFn: async (_a, ch: { token: string }) => http01.remove(ch.token),
    });
    await verifyChain(chain, sys.caFile, { purpose: 'sslserver' });
  });

  test('lego retries and gets its certificate', async () => {
    const lego = requireTool('lego', 'lego');
    const work = mkdtempSync(join(tmpdir(), 'edgeca-lego-reject-'));
    try {
      // lego's http-01 server listens on legoPort; the edge dials http01.port: point it at lego.
      await sys.restartEdge({ EDGECA_HTTP01_PORT: String(legoPort) });
      const r = await runTool(
        lego,
        [
          '--server',
          sys.directoryUrl,
          '--accept-tos',
          '--email',
          'ops@example.com',
          '--path',
          work,
          '--http',
          '--http.port',
          `127.0.0.1:${legoPort}`,
          '-d',
          'reject.lego.test',
          'run',
        ],
        { env: { ...process.env, LEGO_CA_CERTIFICATES: sys.caFile }, timeoutMs: 120_000 },
      );
      assert.equal(r.code, 0, `lego failed:\n${r.stdout}\n${r.stderr}`);
      await verifyChain(readFileSync(join(work, 'certificates', 'reject.lego.test.crt'), 'utf8'), sys.caFile);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
