// Apache httpd with mod_md (Debian's apache2 and libapache2-mod-md) as an operator configures it
// for edgeca (docs/clients.md): MDCertificateAuthority, MDCACertificateFile, MDExternalAccountBinding
// and MDProfile. mod_md registers with EAB, asks for the edge's "tlsserver" profile (7-day
// certificates), answers http-01 itself, and after the graceful restart it asks for serves the
// certificate; the chain verifies to edgeca's root with openssl and its lifetime is the profile's.
// ARI (MDRenewViaARI, on by default) is in play only at renewal, which this test does not wait for.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { type ChallTestSrv, startChallTestSrv } from '../../harness/challtestsrv.ts';
import { freePort } from '../../harness/ports.ts';
import { type System, startSystem } from '../support/system.ts';
import { findTool, verifyChain } from '../support/tools.ts';
import { getServed, pollUntil, type ServerProcess, startServer } from '../support/web-server.ts';

const NAME = 'apache.edgeca.test';
const MODULES = '/usr/lib/apache2/modules';
let sys: System;
let dns: ChallTestSrv;
let work: string;
let apache: ServerProcess | undefined;
let httpsPort: number;

const errorLog = () =>
  work && existsSync(join(work, 'error.log')) ? readFileSync(join(work, 'error.log'), 'utf8') : '';

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
    dns = await startChallTestSrv();
    const httpPort = await freePort();
    httpsPort = await freePort();
    sys = await startSystem({ dnsResolver: dns.dnsAddress, http01Port: httpPort, eabRequired: true });
    const { stdout } = await promisify(execFile)(process.execPath, [
      'bin/edgeca.mjs',
      'eab',
      'create',
      '--json',
      '--db',
      sys.dbUrl,
    ]);
    const eab = JSON.parse(stdout) as { kid: string; hmacKey: string };
    work = mkdtempSync(join(tmpdir(), 'edgeca-mod-md-'));
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
    apache = startServer(httpd, ['-f', conf, '-DFOREGROUND'], {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: work,
    });
  });
  after(async () => {
    await apache?.stop();
    await sys?.stop();
    await dns?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('gets a certificate with the tlsserver profile and serves it after a graceful restart', async () => {
    const context = () => `${errorLog().slice(-8000)}\n${apache?.output().slice(-2000) ?? ''}`;
    // mod_md obtains the certificate in the background and stages it for the next (graceful) restart.
    await pollUntil(
      'mod_md staged a certificate',
      async () => {
        if (apache?.exited()) throw new Error('apache2 exited');
        return /activated on next \(graceful\) server restart|has been setup and changes will be activated/.test(
          errorLog(),
        )
          ? true
          : undefined;
      },
      { timeoutMs: 120_000, gapMs: 1000, context },
    );
    const pid = Number(readFileSync(join(work, 'httpd.pid'), 'utf8').trim());
    process.kill(pid, 'SIGUSR1'); // apachectl graceful
    const ca = readFileSync(sys.caFile);
    const served = await pollUntil(
      `Apache served https://${NAME} with an edgeca certificate`,
      () => getServed(NAME, httpsPort, ca),
      { timeoutMs: 60_000, context },
    );
    assert.equal(served.status, 200);
    assert.equal(served.body, 'served by apache');
    await verifyChain(served.chainPem, sys.caFile, { purpose: 'sslserver' });
    const leaf = new X509Certificate(served.chainPem);
    assert.match(leaf.subjectAltName ?? '', new RegExp(`DNS:${NAME.replaceAll('.', '\\.')}`));
    const days = (Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)) / 86_400_000;
    assert.ok(
      Math.abs(days - 7) < 0.1,
      `the tlsserver profile issues 7-day certificates; this one: ${days} days`,
    );
  });
});
