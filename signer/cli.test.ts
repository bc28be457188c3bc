import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createClient } from '@libsql/client';
import { softCa, testConfig } from '../test/support/signer-service.ts';
import { main } from './cli.ts';
import { issuerId } from './service/tools.ts';
import { SignerStore } from './store/store.ts';

const dir = mkdtempSync(join(tmpdir(), 'edgeca-cli-'));
const configFile = join(dir, 'signer.json');
after(() => rmSync(dir, { recursive: true, force: true }));
before(async () => {
  writeFileSync(configFile, JSON.stringify(testConfig([], 'file:signer.db')));
  const ca = await softCa();
  writeFileSync(join(dir, 'issuer.pem'), ca.issuerPem);
  const issuer = issuerId(ca.issuerDer);
  const store = await SignerStore.open(`file:${join(dir, 'signer.db')}`, { issuer });
  for (let i = 0; i < 3; i++) await store.auditEvent('refuse', { i });
  const crlNumber = await store.allocateCrlNumber(issuer);
  await store.saveCrl(issuer, { crlNumber, thisUpdate: 1, nextUpdate: 2, der: Uint8Array.of(0x30, 0) }, {});
  await store.close();
});

const cases: [string, string[], number][] = [
  ['prints the command list', ['--help'], 0],
  ['prints a command help', ['serve', '--help'], 0],
  ['refuses an unknown command', ['nope'], 2],
  ['refuses an unknown option', ['crl', '--config', configFile, '--bogus'], 2],
  ['asks for --config', ['audit-verify'], 2],
  ['refuses a bad --key-type', ['init', '--dev', '--key-type', 'DSA'], 2],
  ['explains an unreadable config', ['crl', '--config', join(dir, 'missing.json')], 1],
  [
    'checks a clean hash chain alone when asked to',
    ['audit-verify', '--config', configFile, '--allow-unsigned'],
    0,
  ],
  ['does not call a chain without a signed checkpoint verified', ['audit-verify', '--config', configFile], 1],
  ['refuses a bad --max-age', ['audit-verify', '--config', configFile, '--max-age', 'soon'], 2],
  ['refuses a bad --mode for rotate', ['rotate', '--config', configFile, '--mode', 'magic'], 2],
  ['refuses a malformed --issuer for crl', ['crl', '--config', configFile, '--issuer', 'abc'], 2],
  ['writes the CRL', ['crl', '--config', configFile, '--out', join(dir, 'out.crl')], 0],
];

for (const [name, args, code] of cases) {
  test(`signer cli ${name}`, async () => {
    assert.equal(await main(args), code);
  });
}

test('signer cli answer-key writes a private key (0600), prints its public half, never overwrites', async () => {
  const { spawnSync } = await import('node:child_process');
  const { statSync } = await import('node:fs');
  const file = join(dir, 'answer.json');
  const cli = new URL('../bin/edgeca.mjs', import.meta.url).pathname;
  const run = () =>
    spawnSync(process.execPath, [cli, 'signer', 'answer-key', '--out', file], {
      encoding: 'utf8',
      env: { ...process.env, NODE_TEST_CONTEXT: '' },
      timeout: 30_000,
    });
  const first = run();
  assert.equal(first.status, 0, first.stderr);
  const priv = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
  const pub = JSON.parse(first.stdout) as Record<string, string>;
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.ok(priv.d, 'the file holds the private key');
  assert.equal(pub.d, undefined, 'the printed key is public');
  assert.deepEqual([pub.kid, pub.x, pub.y], [priv.kid, priv.x, priv.y]);
  const again = run();
  assert.equal(again.status, 1);
  assert.match(again.stderr, /exists already/);
  assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), priv, 'the key file is untouched');
});

test('signer cli audit-verify exits 1 on an edited row', async () => {
  assert.deepEqual([...readFileSync(join(dir, 'out.crl'))], [0x30, 0]);
  const c = createClient({ url: `file:${join(dir, 'signer.db')}` });
  await c.execute(`UPDATE audit_log SET details = '{}' WHERE seq = 2`);
  c.close();
  assert.equal(await main(['audit-verify', '--config', configFile, '--allow-unsigned']), 1);
});

test('signer cli --help lists every environment setting and init --help every CA key type', async () => {
  const { spawnSync } = await import('node:child_process');
  const { SIGNER_SETTING_ROWS } = await import('./settings.ts');
  const { CA_KEY_TYPES } = await import('../shared/key-types.ts');
  const cli = new URL('../bin/edgeca.mjs', import.meta.url).pathname;
  const help = (args: string[]) =>
    spawnSync(process.execPath, [cli, 'signer', ...args], { encoding: 'utf8' }).stdout;
  const top = help(['--help']);
  for (const s of SIGNER_SETTING_ROWS) assert.match(top, new RegExp(`^  ${s.name} `, 'm'));
  const init = help(['init', '--help']);
  assert.ok(init.includes(`--key-type ${CA_KEY_TYPES.join('|')}]`), init);
});
