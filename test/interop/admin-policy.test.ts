// Admin policy as a new admin does it from docs/admin.md: the CLI (a real child process)
// makes the first token, a profile, an EAB key with a policy and a rate limit against the whole
// system over HTTPS; acme-client bound to that key gets exactly what the policy allows and a clear
// rejectedIdentifier for the rest; the change log shows every step.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import acme from 'acme-client';
import { type ChallTestSrv, startChallTestSrv } from '../../harness/challtestsrv.ts';
import { type Http01Server, startHttp01Server } from '../../harness/http01.ts';
import { freePort } from '../../harness/ports.ts';
import { type System, startSystem } from '../support/system.ts';
import { verifyChain } from '../support/tools.ts';

let sys: System;
let dns: ChallTestSrv;
let http01: Http01Server;
let env: NodeJS.ProcessEnv;

acme.setLogger(() => {});

async function cli(...args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['bin/edgeca.mjs', 'admin', ...args],
      { env },
    );
    assert.doesNotMatch(stderr, /--token puts the admin token on the command line/);
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`edgeca admin ${args.join(' ')}: ${err.stderr ?? err.message}`);
  }
}

const cliJson = async (...args: string[]) => JSON.parse(await cli(...args, '--json'));

async function issue(client: acme.Client, names: string[], profile?: string): Promise<string> {
  const [, csr] = await acme.crypto.createCsr({ altNames: names, commonName: names[0]! });
  const order = await client.createOrder({
    identifiers: names.map((value) => ({ type: 'dns', value })),
    ...(profile ? { profile } : {}),
  } as Parameters<acme.Client['createOrder']>[0]);
  for (const authz of await client.getAuthorizations(order)) {
    if (authz.status === 'valid') continue;
    const ch = authz.challenges.find((c) => c.type === 'http-01')!;
    http01.set(ch.token, await client.getChallengeKeyAuthorization(ch));
    await client.completeChallenge(ch);
    await client.waitForValidStatus(ch);
  }
  const done = await client.finalizeOrder(order, csr);
  return client.getCertificate(await client.waitForValidStatus(done));
}

describe('admin CLI and a real client bound to an EAB key with a policy', { timeout: 240_000 }, () => {
  before(async () => {
    dns = await startChallTestSrv();
    const port = await freePort();
    http01 = await startHttp01Server(port);
    sys = await startSystem({ dnsResolver: dns.dnsAddress, http01Port: port, eabRequired: true });
    acme.axios.defaults.httpsAgent = new https.Agent({ ca: readFileSync(sys.caFile) });
    env = { ...process.env, EDGECA_ADMIN_URL: `${sys.edgeUrl}/admin`, EDGECA_ADMIN_CA_FILE: sys.caFile };
  });
  after(async () => {
    await sys?.stop();
    await http01?.close();
    await dns?.close();
  });

  test('an admin sets policy, profile, EAB key and rate limit; the client gets exactly what they allow', async () => {
    const { token } = await cliJson(
      'token',
      'create',
      '--scope',
      'write',
      '--name',
      'first',
      '--db',
      sys.dbUrl,
    );
    env.EDGECA_ADMIN_TOKEN = token;

    await cli(
      'profile',
      'set',
      'servers',
      '--validity',
      '2d',
      '--description',
      'TLS servers, 2 days',
      '--ekus',
      'serverAuth',
      '--identifiers',
      'dns',
      '--signer-profile',
      'tlsserver',
    );
    await cli('policy', 'set', 'global', '--deny', '.secret.test');
    const key = await cliJson(
      'eab',
      'create',
      '--name',
      'team-web',
      '--allow',
      '.web.test',
      '--profiles',
      'servers,default',
    );
    assert.match(key.kid, /^eab-/);
    assert.ok(key.hmacKey);
    await cli('ratelimit', 'set', 'newOrdersPerAccount', '--count', '20', '--window', '1h');

    const table = await cli('eab', 'list');
    assert.match(table, /team-web/);
    assert.doesNotMatch(table, new RegExp(key.hmacKey), 'the HMAC key is never listed');

    const client = new acme.Client({
      directoryUrl: sys.directoryUrl,
      accountKey: await acme.crypto.createPrivateEcdsaKey(),
      externalAccountBinding: { kid: key.kid, hmacKey: key.hmacKey },
    });
    await client.createAccount({ termsOfServiceAgreed: true });

    const chain = await issue(client, ['app.web.test'], 'servers');
    await verifyChain(chain, sys.caFile);
    const leaf = new (await import('node:crypto')).X509Certificate(chain);
    const lifetime = (Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)) / 1000;
    assert.ok(lifetime <= 2 * 86_400 + 120 && lifetime > 86_400 + 3600, `2-day certificate (${lifetime} s)`);

    await assert.rejects(issue(client, ['app.other.test']), (e: Error) => {
      assert.match(e.message, /app\.other\.test.*not matched by any allow rule/);
      return true;
    });
    await assert.rejects(
      issue(client, ['app.web.test'], 'tlsclient'),
      /not allowed for accounts of external account key/,
    );

    const changes = (await cliJson('changes')).changes.map((c: { action: string }) => c.action);
    assert.deepEqual(changes.reverse(), [
      'token.create',
      'profile.create',
      'policy.set',
      'eab.create',
      'ratelimit.set',
    ]);
    assert.match(await cli('changes'), /eab\.create/);
  });

  test('errors say how to fix them', async () => {
    // a wrong token, given as tokens are (never on a command line)
    const token = env.EDGECA_ADMIN_TOKEN;
    env.EDGECA_ADMIN_TOKEN = 'edgeca_admin_wrong';
    try {
      await assert.rejects(cli('profile', 'list'), /401.*token create --scope write/);
    } finally {
      env.EDGECA_ADMIN_TOKEN = token;
    }
    await assert.rejects(cli('policy', 'set', 'global', '--allow', 'a b'), /400 allow\[0\]/);
  });
});
