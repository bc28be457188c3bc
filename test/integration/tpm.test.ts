// The whole system with the CA keys in a TPM 2.0 (swtpm simulator, tpm2-pkcs11, behind the
// tpm2-abrmd resource manager): an ACME issuance through the real edge and signer, a second
// issuer as its own signer process in the same TPM, a TPM too busy to answer (503 + Retry-After,
// not a hang), and a wrong PIN at start-up that the TPM itself counts once.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { type Child, spawnChild } from '../../harness/child.ts';
import { makeCsr } from '../../harness/csr.ts';
import { type Http01Server, startHttp01Server } from '../../harness/http01.ts';
import { freePort } from '../../harness/ports.ts';
import { b64uEncode } from '../../shared/encoding.ts';
import { importRelayPrivateKey, type RelayKey, signRelay } from '../../shared/relay.ts';
import { type DevInit, initDev } from '../../signer/bootstrap.ts';
import type { SignerConfig } from '../../signer/config.ts';
import { newKey, TestAcme } from '../support/acme.ts';
import { httpsFetch } from '../support/https-fetch.ts';
import { assertOneLineError, serveUntilExit, signerHealthy } from '../support/signer-serve.ts';
import { makeCsr as makeRelayCsr } from '../support/signer-service.ts';
import { type System, startSystem } from '../support/system.ts';
import { verifyChain } from '../support/tools.ts';
import { makeTpmTokens, type TpmTokens } from '../support/tpm.ts';

const run = promisify(execFile);
const REPO = resolve(import.meta.dirname, '../..');
const CLI = join(REPO, 'bin/edgeca.mjs');
const ISSUER_A = 'edgeca-tpm-a';
const ISSUER_B = 'edgeca-tpm-b';

type Order = {
  status: string;
  authorizations: string[];
  finalize: string;
  certificate?: string;
  error?: unknown;
};

let tpm: TpmTokens;
let http01: Http01Server;
let sys: System;

/** One certificate for 127.0.0.1 through the edge (http-01), as a PEM chain. */
async function issueThroughEdge(): Promise<string> {
  const c = await new TestAcme(httpsFetch(sys.caFile), sys.directoryUrl, await newKey()).init();
  assert.equal((await c.newAccount()).status, 201);
  const res = await c.post(c.dir.newOrder, { identifiers: [{ type: 'ip', value: '127.0.0.1' }] });
  assert.equal(res.status, 201);
  const url = res.headers.get('location') as string;
  const order = (await res.json()) as Order;
  for (const a of order.authorizations) {
    const authz = (await (await c.post(a, '')).json()) as {
      challenges: { type: string; url: string; token: string }[];
    };
    const ch = authz.challenges.find((x) => x.type === 'http-01');
    assert.ok(ch);
    http01.set(ch.token, await c.keyAuthorization(ch.token));
    assert.equal((await c.post(ch.url, {})).status, 200);
    await c.poll(a, (x) => x.status !== 'pending');
  }
  await c.poll<Order>(url, (o) => o.status === 'ready');
  const fin = await c.post(order.finalize, { csr: (await makeCsr([], { ips: ['127.0.0.1'] })).b64u });
  assert.equal(fin.status, 200, await fin.clone().text());
  const done = await c.poll<Order>(url, (o) => o.status === 'valid' || o.status === 'invalid');
  assert.equal(done.status, 'valid', JSON.stringify(done.error));
  return (await c.post(done.certificate as string, '')).text();
}

/** A second issuer: its own dev setup on token B of the same TPM, served by its own process. */
interface SecondSigner {
  init: DevInit;
  url: string;
  relayKey: RelayKey;
  child: Child;
  dir: string;
}

let second: SecondSigner | undefined;
let orders = 0;
/** One CSR per order: a retried order must ask for the same certificate. */
const csrs = new Map<string, Promise<Uint8Array>>();

async function relaySign(s: SecondSigner, orderId = `tpm-order-${++orders}`): Promise<Response> {
  const now = Date.now();
  let csr = csrs.get(orderId);
  if (!csr) {
    csr = makeRelayCsr({ dns: [`${orderId}.internal.test`] });
    csrs.set(orderId, csr);
  }
  const jws = await signRelay(
    {
      op: 'sign',
      orderId,
      accountId: 'acct-tpm',
      profile: 'default',
      csr: b64uEncode(await csr),
      identifiers: [{ type: 'dns', value: `${orderId}.internal.test` }],
      notBefore: new Date(now).toISOString(),
      notAfter: new Date(now + 86_400_000).toISOString(),
      rid: orderId,
    },
    s.relayKey,
  );
  return fetch(`${s.url}/v1/sign`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/jose' },
    body: jws,
    signal: AbortSignal.timeout(60_000),
  });
}

describe('TPM 2.0 (swtpm, tpm2-abrmd) as the signer HSM', { timeout: 240_000 }, () => {
  before(async () => {
    tpm = await makeTpmTokens([ISSUER_A, ISSUER_B], { abrmd: true });
    const port = await freePort();
    http01 = await startHttp01Server(port);
    sys = await startSystem({
      http01Port: port,
      token: { module: tpm.module, tokenLabel: ISSUER_A, pin: tpm.pin, env: tpm.tpm.env },
    });
  });
  after(async () => {
    await second?.child.stop();
    await sys?.stop();
    await http01?.close();
    if (second) await rm(second.dir, { recursive: true, force: true });
    await tpm?.cleanup();
  });

  test('an ACME order is issued through the edge and the signer, the CA keys generated in the TPM', async () => {
    await verifyChain(await issueThroughEdge(), sys.caFile);
    // The product's own CLI, in another process through the resource manager, reads the key's attributes.
    const { stdout } = await run(
      process.execPath,
      [CLI, 'signer', 'key-info', '--config', sys.init.signerConfigFile],
      { env: { ...process.env, NODE_TEST_CONTEXT: '' }, timeout: 60_000 },
    );
    const info = JSON.parse(stdout) as Record<string, unknown>;
    assert.deepEqual(
      {
        sensitive: info.sensitive,
        extractable: info.extractable,
        alwaysSensitive: info.alwaysSensitive,
        neverExtractable: info.neverExtractable,
        caKeyType: info.caKeyType,
      },
      {
        sensitive: true,
        extractable: false,
        alwaysSensitive: true,
        neverExtractable: true,
        caKeyType: 'EC-P256',
      },
    );
    const config = JSON.parse(readFileSync(sys.init.signerConfigFile, 'utf8')) as SignerConfig;
    assert.equal(config.pkcs11.env?.TPM2_PKCS11_TCTI, 'tabrmd:bus_type=session');
  });

  test('two issuers in one TPM: a second signer process with its own key signs alongside the first', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'edgeca-tpm-second-'));
    const port = await freePort();
    const init = await initDev({
      dir,
      signerPort: port,
      token: { module: tpm.module, tokenLabel: ISSUER_B, pin: tpm.pin, env: tpm.tpm.env },
    });
    // One session and a short queue: the next test saturates this signer on purpose.
    const config = JSON.parse(readFileSync(init.signerConfigFile, 'utf8')) as SignerConfig;
    config.pkcs11.sessions = 1;
    config.pkcs11.queueTimeoutMs = 300;
    config.ceiling.dnsSuffixes = ['internal.test'];
    writeFileSync(init.signerConfigFile, JSON.stringify(config, null, 2));
    // setpriv: the signer dies with this process even if it is killed outright (it holds the TPM).
    const child = spawnChild(
      'signer-b',
      'setpriv',
      [
        '--pdeathsig',
        'SIGKILL',
        '--',
        process.execPath,
        CLI,
        'signer',
        'serve',
        '--config',
        init.signerConfigFile,
      ],
      { cwd: REPO, env: { NODE_TEST_CONTEXT: '' } },
    );
    const url = `http://127.0.0.1:${port}`;
    second = {
      init,
      url,
      child,
      dir,
      relayKey: await importRelayPrivateKey(JSON.parse(readFileSync(init.relayKeyFile, 'utf8'))),
    };
    await signerHealthy(child, url);
    const s = second;
    // Both issuers at once: the edge's signer (this process) and the second one (its own process).
    const [fromA, ...fromB] = await Promise.all([
      issueThroughEdge(),
      ...Array.from({ length: 6 }, () =>
        relaySign(s).then(async (r) => ({ status: r.status, body: await r.text() })),
      ),
    ]);
    await verifyChain(fromA as string, sys.caFile);
    for (const r of fromB as { status: number; body: string }[]) {
      assert.equal(r.status, 200, r.body);
      await verifyChain(r.body, init.rootCertFile);
    }
    const rootA = readFileSync(sys.init.rootCertFile, 'utf8');
    assert.notEqual(readFileSync(init.rootCertFile, 'utf8'), rootA, 'two CAs, two roots');
  });

  test('a TPM too busy to answer: a request queued past queueTimeoutMs gets 503 + Retry-After; the other completes', async () => {
    const s = second;
    assert.ok(s, 'the second signer runs (previous test)');
    assert.equal((await relaySign(s)).status, 200); // the key is loaded
    tpm.tpm.pause();
    let resumed = false;
    try {
      const a = relaySign(s, 'busy-a');
      const b = relaySign(s, 'busy-b');
      // One request holds the signer's only session, waiting inside the TPM; the other waits for
      // the session, 300 ms at most, and is told to come back.
      const first = await Promise.race([
        a.then((r) => ({ r, id: 'busy-a' })),
        b.then((r) => ({ r, id: 'busy-b' })),
      ]);
      assert.equal(first.r.status, 503, await first.r.clone().text());
      assert.ok(Number(first.r.headers.get('retry-after')) > 0, 'Retry-After');
      // The signer's outage answer: the edge keeps the order processing and retries it.
      const problem = (await first.r.json()) as { type: string; detail: string };
      assert.equal(problem.type, 'urn:ietf:params:acme:error:serverInternal');
      assert.match(problem.detail, /HSM is unavailable; retry later/);
      tpm.tpm.resume();
      resumed = true;
      const other = await (first.id === 'busy-a' ? b : a);
      assert.equal(other.status, 200, await other.clone().text());
      // The refused order, asked again, is signed: nothing was half-done.
      const again = await relaySign(s, first.id);
      assert.equal(again.status, 200, await again.clone().text());
      await verifyChain(await again.text(), s.init.rootCertFile);
    } finally {
      if (!resumed) tpm.tpm.resume();
    }
  });

  test('a wrong PIN at start-up: one line, exit 1, and the TPM counted exactly one failed authorisation', async () => {
    // A TPM of its own, without a resource manager: the lockout counter is per TPM.
    const fresh = await makeTpmTokens(['edgeca-tpm-pin']);
    try {
      const config = JSON.parse(readFileSync(sys.init.signerConfigFile, 'utf8')) as SignerConfig;
      const pinFile = join(fresh.dir, 'wrong-pin');
      writeFileSync(pinFile, 'not-the-pin\n', { mode: 0o600 });
      config.listen.port = 0;
      config.pkcs11 = {
        ...config.pkcs11,
        tokenLabel: 'edgeca-tpm-pin',
        pinFile,
        // The TSS's own log lines off; tpm2-pkcs11 prints its errors whatever TPM2_PKCS11_LOG_LEVEL says.
        env: { ...fresh.tpm.env, TPM2_PKCS11_LOG_LEVEL: '0', TSS2_LOG: 'all+NONE' },
      };
      // Beside the system's config, whose relative paths (certificates, database) it shares.
      const file = join(sys.init.dir, 'signer-wrong-pin.json');
      writeFileSync(file, JSON.stringify(config));
      const r = await serveUntilExit(file);
      assertOneLineError(r, /token "edgeca-tpm-pin" refused the PIN \(CKR_PIN_INCORRECT\); not retrying/, {
        moduleLines: /^ERROR: /,
      });
      assert.doesNotMatch(r.stderr + r.stdout, /not-the-pin/);
      assert.equal(await fresh.tpm.lockoutCounter(), 1);
    } finally {
      await fresh.cleanup();
    }
  });
});
