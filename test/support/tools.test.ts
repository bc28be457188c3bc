// Proves the test helpers against chains openssl builds itself (so these tests do not depend on
// the signer): a good chain verifies, a chain under another root or missing its intermediate fails.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { requireTool, runTool, splitPemChain, verifyChain } from './tools.ts';

let dir = '';
const pem = (name: string) => readFileSync(join(dir, `${name}.pem`), 'utf8');

async function openssl(args: string[]): Promise<void> {
  const r = await runTool(requireTool('openssl', 'openssl'), args, { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
}

/** A self-signed CA (when issuer is undefined) or a certificate signed by issuer. */
async function makeCert(name: string, issuer: string | undefined, ca: boolean): Promise<void> {
  await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`]);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(
    ext,
    ca
      ? 'basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\n'
      : 'basicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature\n' +
          'extendedKeyUsage=serverAuth\nsubjectAltName=DNS:a.test\n',
  );
  if (!issuer) {
    await openssl([
      'req',
      '-x509',
      '-new',
      '-key',
      `${name}.key`,
      '-subj',
      `/CN=${name}`,
      '-days',
      '2',
      '-extensions',
      'v3',
      '-config',
      writeReqConfig(name, ext),
      '-out',
      `${name}.pem`,
    ]);
    return;
  }
  await openssl(['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${name}`, '-out', `${name}.csr`]);
  await openssl([
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${issuer}.pem`,
    '-CAkey',
    `${issuer}.key`,
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    ext,
    '-out',
    `${name}.pem`,
  ]);
}

function writeReqConfig(name: string, ext: string): string {
  const file = join(dir, `${name}.cnf`);
  writeFileSync(
    file,
    `[req]\ndistinguished_name=dn\n[dn]\n[v3]\n${readFileSync(ext, 'utf8')}subjectKeyIdentifier=hash\n`,
  );
  return file;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'edgeca-tools-test-'));
  await makeCert('root', undefined, true);
  await makeCert('other-root', undefined, true);
  await makeCert('inter', 'root', true);
  await makeCert('leaf', 'inter', false);
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('verifyChain accepts a leaf + intermediate chain under its root', async () => {
  await verifyChain(pem('leaf') + pem('inter'), join(dir, 'root.pem'));
  await verifyChain(pem('leaf') + pem('inter'), join(dir, 'root.pem'), { purpose: 'sslserver' });
});

const failures: { name: string; chain: () => string; root: string; message: RegExp }[] = [
  {
    name: 'rejects a chain under another root',
    chain: () => pem('leaf') + pem('inter'),
    root: 'other-root',
    message: /openssl verify failed/,
  },
  {
    name: 'rejects a leaf without its intermediate',
    chain: () => pem('leaf'),
    root: 'root',
    message: /openssl verify failed/,
  },
  {
    name: 'rejects text with no certificate',
    chain: () => 'not a pem',
    root: 'root',
    message: /no certificate/,
  },
];
for (const f of failures) {
  test(`verifyChain ${f.name}`, async () => {
    await assert.rejects(verifyChain(f.chain(), join(dir, `${f.root}.pem`)), f.message);
  });
}

test('splitPemChain returns each certificate in order', () => {
  const parts = splitPemChain(`${pem('leaf')}\n${pem('inter')}`);
  assert.equal(parts.length, 2);
  assert.equal(`${parts[0]}\n`, pem('leaf'));
});

test('requireTool names the Debian package when the binary is missing', () => {
  assert.throws(() => requireTool('edgeca-no-such-binary', 'edgeca-pkg'), /Debian package "edgeca-pkg"/);
});

test('requireTool returns the path of an installed binary', () => {
  assert.match(requireTool('openssl', 'openssl'), /\/openssl$/);
});
