// Apache httpd with mod_md (Debian's apache2 and libapache2-mod-md) as an operator configures it
// for edgeca (docs/clients.md): MDCertificateAuthority, MDCACertificateFile, MDExternalAccountBinding
// and MDProfile. mod_md registers with EAB, asks for the edge's "tlsserver" profile (7-day
// certificates), answers http-01 itself, and after the graceful restart it asks for serves the
// certificate; the chain verifies to edgeca's root with openssl and its lifetime is the profile's.
// ARI (MDRenewViaARI, on by default) is in play only at renewal, which this test does not wait for.
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '../../harness/wait.ts';
import { findTool } from '../support/tools.ts';
import { expectServedByEdgeca, startWebServerRig, type WebServerRig } from '../support/web-server.ts';

const NAME = 'apache.edgeca.test';
const MODULES = '/usr/lib/apache2/modules';
let rig: WebServerRig | undefined;

const errorLog = () =>
  rig && existsSync(join(rig.work, 'error.log')) ? readFileSync(join(rig.work, 'error.log'), 'utf8') : '';

describe('Apache mod_md against edgeca', { timeout: 300_000 }, () => {
  before(async () => {
    // /usr/sbin is not on every user's PATH
    const httpd = findTool('apache2') ?? '/usr/sbin/apache2';
    for (const [file, pkg] of [
      [httpd, 'apache2'],
      [join(MODULES, 'mod_md.so'), 'libapache2-mod-md'],
    ] as const) {
      if (!existsSync(file)) throw new Error(`${file} is missing: install the Debian package "${pkg}"`);
    }
    rig = await startWebServerRig('mod-md');
    const { sys, eab, work, httpPort, httpsPort } = rig;
    // Apache's children (www-data when started as root) read the challenge files in the store.
    chmodSync(work, 0o755);
    mkdirSync(join(work, 'htdocs'));
    mkdirSync(join(work, 'run'));
    writeFileSync(join(work, 'htdocs', 'index.html'), 'served by apache');
    // mod_md talks to the ACME server from Apache's unprivileged child: the root must be readable there.
    const rootFile = join(work, 'edgeca-root.pem');
    copyFileSync(sys.caFile, rootFile);
    chmodSync(rootFile, 0o644);
    const conf = join(work, 'httpd.conf');
    const asRoot = process.getuid?.() === 0;
    writeFileSync(
      conf,
      `ServerName localhost
Listen 127.0.0.1:${httpPort}
Listen 127.0.0.1:${httpsPort}
PidFile ${work}/httpd.pid
DefaultRuntimeDir ${work}/run
Mutex file:${work}/run default
ErrorLog ${work}/error.log
LogLevel warn md:debug
${asRoot ? 'User www-data\nGroup www-data' : ''}
LoadModule mpm_event_module ${MODULES}/mod_mpm_event.so
LoadModule authz_core_module ${MODULES}/mod_authz_core.so
LoadModule dir_module ${MODULES}/mod_dir.so
LoadModule ssl_module ${MODULES}/mod_ssl.so
LoadModule md_module ${MODULES}/mod_md.so

MDStoreDir ${work}/md
# what edgeca needs: its directory, the root its HTTPS certificate chains to, the EAB key,
# optionally a profile the edge offers
MDCertificateAuthority ${sys.directoryUrl}
MDCACertificateFile ${rootFile}
MDExternalAccountBinding ${eab.kid} ${eab.hmacKey}
MDProfile tlsserver
MDCertificateAgreement accepted
MDContactEmail ops@example.test
# the edge validates http-01 at this test's port instead of 80
MDPortMap http:${httpPort} https:${httpsPort}
MDCAChallenges http-01
MDomain ${NAME}

<VirtualHost 127.0.0.1:${httpPort}>
  ServerName ${NAME}
  DocumentRoot ${work}/htdocs
</VirtualHost>
<VirtualHost 127.0.0.1:${httpsPort}>
  ServerName ${NAME}
  SSLEngine on
  DocumentRoot ${work}/htdocs
</VirtualHost>
`,
    );
    rig.serve(httpd, ['-f', conf, '-DFOREGROUND'], {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: work,
    });
  });
  after(async () => {
    await rig?.close();
  });

  test('gets a certificate with the tlsserver profile and serves it after a graceful restart', async () => {
    assert.ok(rig);
    const context = () => `${errorLog().slice(-8000)}\n${rig?.server?.output().slice(-2000) ?? ''}`;
    // mod_md obtains the certificate in the background and stages it for the next (graceful) restart.
    await waitFor(
      'mod_md staged a certificate',
      () =>
        /activated on next \(graceful\) server restart|has been setup and changes will be activated/.test(
          errorLog(),
        )
          ? true
          : undefined,
      {
        timeoutMs: 120_000,
        intervalMs: 1000,
        giveUp: () => (rig?.server?.exited() ? 'apache2 exited' : undefined),
        context,
      },
    );
    const pid = Number(readFileSync(join(rig.work, 'httpd.pid'), 'utf8').trim());
    process.kill(pid, 'SIGUSR1'); // apachectl graceful
    const leaf = await expectServedByEdgeca(rig, NAME, 'served by apache', {
      timeoutMs: 60_000,
      context,
    });
    const days = (Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)) / 86_400_000;
    assert.ok(
      Math.abs(days - 7) < 0.1,
      `the tlsserver profile issues 7-day certificates; this one: ${days} days`,
    );
  });
});
