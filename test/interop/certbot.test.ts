// Real ACME client #2: certbot (Debian) against the whole system — http-01 (standalone), a SAN
// certificate, renewal, revocation, dns-01 through manual hooks, and EAB. certbot 2.x refuses IP
// identifiers, so those are covered by the acme-client suite. Chains are verified with openssl.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type ChallTestSrv, startChallTestSrv } from '../../harness/challtestsrv.ts';
import { freePort } from '../../harness/ports.ts';
import { createEab, type System, startSystem } from '../support/system.ts';
import { requireTool, runTool, verifyChain } from '../support/tools.ts';

let sys: System;
let dns: ChallTestSrv;
let port: number;
let work: string;
let certbot: string;

async function run(args: string[]): Promise<string> {
  const r = await runTool(
    certbot,
    [
      ...args,
      '--server',
      sys.directoryUrl,
      '--non-interactive',
      '--agree-tos',
      '--register-unsafely-without-email',
      '--config-dir',
      join(work, 'config'),
      '--work-dir',
      join(work, 'work'),
      '--logs-dir',
      join(work, 'logs'),
    ],
    { env: { ...process.env, REQUESTS_CA_BUNDLE: sys.caFile }, timeoutMs: 120_000 },
  );
  assert.equal(r.code, 0, `certbot ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout + r.stderr;
}

const standalone = () => ['--standalone', '--http-01-port', String(port), '--http-01-address', '127.0.0.1'];
const live = (name: string) => readFileSync(join(work, 'config', 'live', name, 'fullchain.pem'), 'utf8');

describe('certbot against edgeca', { timeout: 600_000 }, () => {
  before(async () => {
    certbot = requireTool('certbot', 'certbot');
    dns = await startChallTestSrv();
    port = await freePort();
    sys = await startSystem({ dnsResolver: dns.dnsAddress, http01Port: port });
    work = mkdtempSync(join(tmpdir(), 'edgeca-certbot-'));
  });
  after(async () => {
    await sys?.stop();
    await dns?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('gets a single-name certificate over http-01', async () => {
    await run(['certonly', ...standalone(), '-d', 'cb1.certbot.test', '--cert-name', 'cb1']);
    await verifyChain(live('cb1'), sys.caFile, { purpose: 'sslserver' });
  });

  test('gets a three-name SAN certificate', async () => {
    await run([
      'certonly',
      ...standalone(),
      '-d',
      'a.cb.test',
      '-d',
      'b.cb.test',
      '-d',
      'c.cb.test',
      '--cert-name',
      'san',
    ]);
    const pem = live('san');
    await verifyChain(pem, sys.caFile);
    const san = new X509Certificate(pem).subjectAltName ?? '';
    for (const n of ['a.cb.test', 'b.cb.test', 'c.cb.test']) assert.ok(san.includes(`DNS:${n}`), san);
  });

  test('renews with a new serial', async () => {
    const before = new X509Certificate(live('cb1')).serialNumber;
    await run([
      'renew',
      '--force-renewal',
      '--no-random-sleep-on-renew',
      '--cert-name',
      'cb1',
      ...standalone(),
    ]);
    const afterSerial = new X509Certificate(live('cb1')).serialNumber;
    assert.notEqual(afterSerial, before);
    await verifyChain(live('cb1'), sys.caFile);
  });

  test('revokes a certificate', async () => {
    const out = await run([
      'revoke',
      '--cert-name',
      'san',
      '--reason',
      'superseded',
      '--no-delete-after-revoke',
    ]);
    assert.match(out, /revoked/i);
  });

  test('gets a certificate over dns-01 with manual hooks', async () => {
    const hook = join(work, 'dns-hook.mjs');
    writeFileSync(
      hook,
      `#!${process.execPath}
const path = process.argv[2] === 'cleanup' ? '/clear-txt' : '/set-txt';
const body = { host: '_acme-challenge.' + process.env.CERTBOT_DOMAIN + '.', value: process.env.CERTBOT_VALIDATION };
const res = await fetch('${dns.managementUrl}' + path, { method: 'POST', body: JSON.stringify(body) });
if (!res.ok) process.exit(1);
`,
    );
    chmodSync(hook, 0o755);
    await run([
      'certonly',
      '--manual',
      '--preferred-challenges',
      'dns',
      '--manual-auth-hook',
      `${hook} auth`,
      '--manual-cleanup-hook',
      `${hook} cleanup`,
      '-d',
      'dns.certbot.test',
      '-d',
      '*.dns.certbot.test',
      '--cert-name',
      'dns01',
    ]);
    await verifyChain(live('dns01'), sys.caFile);
  });

  test('registers with EAB and gets a certificate', async () => {
    const { kid, hmacKey } = await createEab(sys);
    const eabWork = mkdtempSync(join(tmpdir(), 'edgeca-certbot-eab-'));
    const prev = work;
    work = eabWork;
    try {
      await run([
        'certonly',
        ...standalone(),
        '--eab-kid',
        kid,
        '--eab-hmac-key',
        hmacKey,
        '-d',
        'eab.certbot.test',
        '--cert-name',
        'eab',
      ]);
      await verifyChain(live('eab'), sys.caFile);
    } finally {
      work = prev;
      rmSync(eabWork, { recursive: true, force: true });
    }
  });
});
