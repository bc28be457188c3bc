// Real ACME client #3: lego (Debian) against the whole system — http-01, SAN, renewal, revocation,
// dns-01 through the exec provider, and EAB. lego 4.9 sends IP addresses as dns identifiers, so
// RFC 8738 is covered by the acme-client suite. Chains are verified with openssl.
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
let lego: string;

async function run(args: string[], env: Record<string, string> = {}, path = work): Promise<string> {
  const r = await runTool(
    lego,
    ['--server', sys.directoryUrl, '--accept-tos', '--email', 'ops@example.com', '--path', path, ...args],
    {
      env: { ...process.env, LEGO_CA_CERTIFICATES: sys.caFile, ...env },
      timeoutMs: 120_000,
    },
  );
  assert.equal(r.code, 0, `lego ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout + r.stderr;
}

const http = () => ['--http', '--http.port', `127.0.0.1:${port}`];
const crt = (name: string, path = work) =>
  readFileSync(join(path, 'certificates', `${name.replace('*', '_')}.crt`), 'utf8');

describe('lego against edgeca', { timeout: 600_000 }, () => {
  before(async () => {
    lego = requireTool('lego', 'lego');
    dns = await startChallTestSrv();
    port = await freePort();
    sys = await startSystem({ dnsResolver: dns.dnsAddress, http01Port: port });
    work = mkdtempSync(join(tmpdir(), 'edgeca-lego-'));
  });
  after(async () => {
    await sys?.stop();
    await dns?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('gets a single-name certificate over http-01', async () => {
    await run([...http(), '-d', 'one.lego.test', 'run']);
    await verifyChain(crt('one.lego.test'), sys.caFile, { purpose: 'sslserver' });
  });

  test('gets a three-name SAN certificate', async () => {
    await run([...http(), '-d', 'a.lego.test', '-d', 'b.lego.test', '-d', 'c.lego.test', 'run']);
    const pem = crt('a.lego.test');
    await verifyChain(pem, sys.caFile);
    const san = new X509Certificate(pem).subjectAltName ?? '';
    for (const n of ['a.lego.test', 'b.lego.test', 'c.lego.test']) assert.ok(san.includes(`DNS:${n}`), san);
  });

  test('renews with a new serial', async () => {
    const before = new X509Certificate(crt('one.lego.test')).serialNumber;
    await run([...http(), '-d', 'one.lego.test', 'renew', '--days', '365', '--no-random-sleep']);
    assert.notEqual(new X509Certificate(crt('one.lego.test')).serialNumber, before);
    await verifyChain(crt('one.lego.test'), sys.caFile);
  });

  test('revokes a certificate', async () => {
    await run(['-d', 'a.lego.test', 'revoke', '--reason', '4']);
  });

  test('gets a wildcard certificate over dns-01 through the exec provider', async () => {
    const hook = join(work, 'dns-exec.mjs');
    writeFileSync(
      hook,
      `#!${process.execPath}
const [action, fqdn, value] = process.argv.slice(2);
const path = action === 'cleanup' ? '/clear-txt' : '/set-txt';
const res = await fetch('${dns.managementUrl}' + path, { method: 'POST', body: JSON.stringify({ host: fqdn, value }) });
if (!res.ok) process.exit(1);
`,
    );
    chmodSync(hook, 0o755);
    await run(
      [
        '--dns',
        'exec',
        '--dns.resolvers',
        dns.dnsAddress,
        '--dns.disable-cp',
        '-d',
        '*.wild.lego.test',
        'run',
      ],
      {
        EXEC_PATH: hook,
        EXEC_PROPAGATION_TIMEOUT: '10',
        EXEC_POLLING_INTERVAL: '1',
      },
    );
    await verifyChain(crt('*.wild.lego.test'), sys.caFile);
  });

  test('registers with EAB and gets a certificate', async () => {
    const { kid, hmacKey } = await createEab(sys);
    const path = mkdtempSync(join(tmpdir(), 'edgeca-lego-eab-'));
    try {
      await run(
        ['--eab', '--kid', kid, '--hmac', hmacKey, ...http(), '-d', 'eab.lego.test', 'run'],
        {},
        path,
      );
      await verifyChain(crt('eab.lego.test', path), sys.caFile);
    } finally {
      rmSync(path, { recursive: true, force: true });
    }
  });
});
