// Moving the fleet to a new issuer, over the whole system (SoftHSM signer, edge over HTTPS, a real
// ACME client): a certificate from the first issuer; `edgeca signer rotate` (online root, another
// process); the signer follows; the admin certificate list shows each certificate's issuer key id;
// `edgeca admin renew-now --issuer <old key id>` selects exactly the old issuer's certificates;
// the client's next ARI poll says renew, and the renewal (with `replaces`) comes from the new
// issuer. The edge serves each issuer's CRL at its own URL and keeps /crl for the first issuer.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { AuthorityKeyIdentifierExtension, X509Certificate as PeculiarCert } from '@peculiar/x509';
import type { Http01Server } from '../../harness/http01.ts';
import { certIdOfPem, TestAcme } from '../support/acme.ts';
import { httpsFetch } from '../support/https-fetch.ts';
import { accountOn, issueOverHttp01, startSystemWithHttp01 } from '../support/issuance.ts';
import { OperatorCli } from '../support/operator-cli.ts';
import type { System } from '../support/system.ts';
import { runTool, splitPemChain, verifyChain } from '../support/tools.ts';

const _run = promisify(execFile);
let sys: System;
let http01: Http01Server;
let rig: Awaited<ReturnType<typeof startSystemWithHttp01>> | undefined;

/** The leaf's Authority Key Identifier: its issuer's key id, hex. */
const keyIdOf = (pem: string) =>
  new PeculiarCert(splitPemChain(pem)[0] as string).getExtension(AuthorityKeyIdentifierExtension)?.keyId ??
  '';

describe('renew-now --issuer moves certificates to the new issuer after a rotation', {
  timeout: 300_000,
}, () => {
  before(async () => {
    rig = await startSystemWithHttp01();
    ({ sys, http01 } = rig);
  });
  after(() => rig?.stop());

  test('rotate, follow, renew-now --issuer <old>, the ARI client renews from the new issuer', async () => {
    const fetch = httpsFetch(sys.caFile);
    const c = await accountOn(sys);
    const operator = new OperatorCli(sys);
    const old = await issueOverHttp01(c, http01);
    await verifyChain(old, sys.caFile);

    const rotated = JSON.parse(
      await operator.run('signer', 'rotate', '--config', sys.init.signerConfigFile, '--mode', 'online-root'),
    ) as { id: string; retired: string[] };
    assert.equal(rotated.retired.length, 1);
    const [oldId] = rotated.retired as [string];
    await sys.reloadSigner();
    const issuers = JSON.parse(
      await operator.run('signer', 'issuers', '--config', sys.init.signerConfigFile),
    ) as {
      id: string;
      keyId: string;
      state: string;
    }[];
    const oldKeyId = issuers.find((i) => i.id === oldId)?.keyId ?? '';
    const newKeyId = issuers.find((i) => i.id === rotated.id)?.keyId ?? '';
    assert.equal(keyIdOf(old), oldKeyId);

    await operator.login();
    const conn = ['--url', `${sys.edgeUrl}/admin`, '--ca-file', sys.caFile, '--json'];
    const listed = JSON.parse(await operator.admin('cert', 'list', ...conn)) as {
      certificates: { serial: string; issuer: string }[];
    };
    assert.deepEqual(
      listed.certificates.map((x) => x.issuer),
      [oldKeyId],
      'the edge shows the certificate issuer',
    );
    // One more certificate, from the new issuer, before the move: renew-now must leave it alone.
    const fresh = await issueOverHttp01(c, http01);
    assert.equal(keyIdOf(fresh), newKeyId);

    const moved = JSON.parse(await operator.admin('renew-now', '--issuer', oldKeyId, ...conn)) as {
      count: number;
      certificates: { serial: string }[];
    };
    assert.equal(moved.count, 1);
    assert.equal(
      moved.certificates[0]?.serial,
      new X509Certificate(splitPemChain(old)[0] as string).serialNumber.toLowerCase(),
    );
    assert.equal(
      TestAcme.shouldRenew(await c.renewalInfo(old)),
      true,
      'one poll after renew-now the client renews',
    );
    assert.equal(
      TestAcme.shouldRenew(await c.renewalInfo(fresh)),
      false,
      'the new issuer certificate is not due',
    );

    const renewed = await issueOverHttp01(c, http01, { extra: { replaces: certIdOfPem(old) } });
    await verifyChain(renewed, sys.caFile);
    assert.equal(keyIdOf(renewed), newKeyId, 'the renewal comes from the new issuer');

    // Each issuer's CRL at the edge: the first issuer's at /crl, the new one's at /crl/<id>.
    const crlAt = async (path: string, issuerPem: string) => {
      const res = await fetch(`${sys.edgeUrl}${path}`);
      assert.equal(res.status, 200, path);
      const f = join(sys.dir, `edge-${Date.now()}.crl`);
      writeFileSync(f, new Uint8Array(await res.arrayBuffer()));
      writeFileSync(`${f}.pem`, issuerPem);
      const r = await runTool('openssl', [
        'crl',
        '-inform',
        'DER',
        '-in',
        f,
        '-noout',
        '-CAfile',
        `${f}.pem`,
      ]);
      assert.match(r.stderr + r.stdout, /verify OK/, path);
    };
    await crlAt('/crl', splitPemChain(old)[1] as string);
    await crlAt(`/crl/${rotated.id}`, splitPemChain(renewed)[1] as string);
    const none = await fetch(`${sys.edgeUrl}/crl/${'0'.repeat(64)}`);
    assert.equal(none.status, 404);
    assert.match(((await none.json()) as { detail: string }).detail, /no issuer 0{64}/);
    const cdp = (
      await runTool('openssl', ['x509', '-noout', '-ext', 'crlDistributionPoints'], { input: renewed })
    ).stdout;
    assert.match(cdp, new RegExp(`/crl/${rotated.id}`));
  });
});
