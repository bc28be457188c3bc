// Caddy (Debian's caddy 2.6) as an operator configures it for edgeca (docs/clients.md): the
// Caddyfile's global acme_ca, acme_ca_root and acme_eab, nothing else edgeca-specific. Caddy gets
// its own certificate through the whole system (EAB required, challenges answered by Caddy on the
// ports the edge dials) and serves HTTPS with it; the chain it presents verifies to edgeca's root
// with openssl. Caddy 2.6 predates ARI and ACME profiles, so neither is exercised here.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { type ChallTestSrv, startChallTestSrv } from '../../harness/challtestsrv.ts';
import { freePort } from '../../harness/ports.ts';
import { type System, startSystem } from '../support/system.ts';
import { requireTool, verifyChain } from '../support/tools.ts';
import { getServed, pollUntil, type ServerProcess, startServer } from '../support/web-server.ts';

const NAME = 'caddy.edgeca.test';
let sys: System;
let dns: ChallTestSrv;
let work: string;
let caddy: ServerProcess | undefined;
let httpsPort: number;

describe('Caddy against edgeca', { timeout: 300_000 }, () => {
  before(async () => {
    const bin = requireTool('caddy', 'caddy');
    dns = await startChallTestSrv();
    const httpPort = await freePort();
    httpsPort = await freePort();
    // The edge dials Caddy's own ports for http-01 and tls-alpn-01 (in production: 80 and 443).
    sys = await startSystem({
      dnsResolver: dns.dnsAddress,
      http01Port: httpPort,
      eabRequired: true,
      env: { EDGECA_TLSALPN01_PORT: String(httpsPort) },
    });
    const { stdout } = await promisify(execFile)(process.execPath, [
      'bin/edgeca.mjs',
      'eab',
      'create',
      '--json',
      '--db',
      sys.dbUrl,
    ]);
    const eab = JSON.parse(stdout) as { kid: string; hmacKey: string };
    work = mkdtempSync(join(tmpdir(), 'edgeca-caddy-'));
    const caddyfile = join(work, 'Caddyfile');
    writeFileSync(
      caddyfile,
      `{
	admin off
	http_port ${httpPort}
	https_port ${httpsPort}
	storage file_system ${join(work, 'data')}
	skip_install_trust
	email ops@example.test
	# what edgeca needs: its directory, the root its HTTPS certificate chains to, the EAB key
	acme_ca ${sys.directoryUrl}
	acme_ca_root ${sys.caFile}
	acme_eab {
		key_id ${eab.kid}
		mac_key ${eab.hmacKey}
	}
}

${NAME} {
	bind 127.0.0.1
	respond "served by caddy"
}
`,
    );
    caddy = startServer(bin, ['run', '--config', caddyfile, '--adapter', 'caddyfile'], {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: work,
      XDG_CONFIG_HOME: join(work, 'config'),
      XDG_DATA_HOME: join(work, 'data'),
    });
  });
  after(async () => {
    await caddy?.stop();
    await sys?.stop();
    await dns?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('gets a certificate from edgeca and serves HTTPS with it; the chain verifies to the root', async () => {
    const ca = readFileSync(sys.caFile);
    const served = await pollUntil(
      `Caddy served https://${NAME} with an edgeca certificate`,
      async () => {
        if (caddy?.exited()) throw new Error(`caddy exited:\n${caddy.output()}`);
        return getServed(NAME, httpsPort, ca);
      },
      { timeoutMs: 180_000, context: () => caddy?.output().slice(-6000) ?? '' },
    );
    assert.equal(served.status, 200);
    assert.equal(served.body, 'served by caddy');
    await verifyChain(served.chainPem, sys.caFile, { purpose: 'sslserver' });
    const leaf = new X509Certificate(served.chainPem);
    assert.match(leaf.subjectAltName ?? '', new RegExp(`DNS:${NAME.replaceAll('.', '\\.')}`));
    assert.match(caddy?.output() ?? '', /certificate obtained successfully/);
  });
});
