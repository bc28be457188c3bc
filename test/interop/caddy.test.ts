// Caddy (Debian's caddy 2.6) as an operator configures it for edgeca (docs/clients.md): the
// Caddyfile's global acme_ca, acme_ca_root and acme_eab, nothing else edgeca-specific. Caddy gets
// its own certificate through the whole system (EAB required, challenges answered by Caddy on the
// ports the edge dials) and serves HTTPS with it; the chain it presents verifies to edgeca's root
// with openssl. Caddy 2.6 predates ARI and ACME profiles, so neither is exercised here.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { requireTool } from '../support/tools.ts';
import { expectServedByEdgeca, startWebServerRig, type WebServerRig } from '../support/web-server.ts';

const NAME = 'caddy.edgeca.test';
let rig: WebServerRig | undefined;

describe('Caddy against edgeca', { timeout: 300_000 }, () => {
  before(async () => {
    const bin = requireTool('caddy', 'caddy');
    // The edge dials Caddy's own ports for http-01 and tls-alpn-01 (in production: 80 and 443).
    rig = await startWebServerRig('caddy', { tlsAlpnOnHttps: true });
    const { sys, eab, work } = rig;
    const caddyfile = join(work, 'Caddyfile');
    writeFileSync(
      caddyfile,
      `{
	admin off
	http_port ${rig.httpPort}
	https_port ${rig.httpsPort}
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
    rig.serve(bin, ['run', '--config', caddyfile, '--adapter', 'caddyfile'], {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: work,
      XDG_CONFIG_HOME: join(work, 'config'),
      XDG_DATA_HOME: join(work, 'data'),
    });
  });
  after(async () => {
    await rig?.close();
  });

  test('gets a certificate from edgeca and serves HTTPS with it; the chain verifies to the root', async () => {
    assert.ok(rig);
    await expectServedByEdgeca(rig, NAME, 'served by caddy', { timeoutMs: 180_000 });
    assert.match(rig.server?.output() ?? '', /certificate obtained successfully/);
  });
});
