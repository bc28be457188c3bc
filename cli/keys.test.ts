// `edgeca keys`: the private key only ever reaches a 0600 file; what is printed is the public half,
// and a signature by the private key verifies with it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { CompactSign, compactVerify, importJWK } from 'jose';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'edgeca-keys-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function cli(...args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, ['bin/edgeca.mjs', 'keys', ...args]);
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

test('generate writes the private JWK mode 0600 and prints only its public half', async () => {
  const file = join(dir, 'relay-key.json');
  const r = await cli('generate', '--kid-prefix', 'edge', '--out', file);
  assert.equal(r.code, 0, r.stderr);
  const pub = JSON.parse(r.stdout) as Record<string, string>;
  const priv = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(pub.d, undefined, 'no private part printed');
  assert.match(pub.kid ?? '', /^edge-/);
  assert.equal(priv.kid, pub.kid);
  assert.equal(pub.alg, 'ES256');
  const jws = await new CompactSign(new TextEncoder().encode('x'))
    .setProtectedHeader({ alg: 'ES256' })
    .sign(await importJWK(priv, 'ES256'));
  await compactVerify(jws, await importJWK(pub, 'ES256'));
  const again = await cli('public', '--in', file);
  assert.deepEqual(JSON.parse(again.stdout), pub);
});

test('refuses to overwrite a key, to print a private key, and bad input, each in one line', async () => {
  const file = join(dir, 'kept.json');
  writeFileSync(file, '{"kty":"EC"}');
  const exists = await cli('generate', '--kid-prefix', 'edge', '--out', file);
  assert.equal(exists.code, 1);
  assert.match(exists.stderr, /exists; remove it first/);
  assert.equal(readFileSync(file, 'utf8'), '{"kty":"EC"}');
  const noOut = await cli('generate', '--kid-prefix', 'edge');
  assert.equal(noOut.code, 2);
  assert.match(noOut.stderr, /--out FILE is required/);
  const badPrefix = await cli('generate', '--kid-prefix', 'a b', '--out', join(dir, 'x.json'));
  assert.equal(badPrefix.code, 2);
  writeFileSync(join(dir, 'junk.json'), 'not json');
  const junk = await cli('public', '--in', join(dir, 'junk.json'));
  assert.equal(junk.code, 1);
  assert.match(junk.stderr, /cannot read a JWK from .*junk\.json: not JSON/);
  assert.doesNotMatch(junk.stderr, /\n.*\n/, 'one line');
});
