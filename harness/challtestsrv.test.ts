import assert from 'node:assert/strict';
import { Resolver } from 'node:dns/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { findChallTestSrv, startChallTestSrv } from './challtestsrv.ts';

describe('startChallTestSrv', () => {
  it('serves TXT and A records set through the management API, and stops on close', async () => {
    const srv = await startChallTestSrv();
    const resolver = new Resolver({ timeout: 500, tries: 1 });
    resolver.setServers([srv.dnsAddress]);
    try {
      await srv.setTxt('_acme-challenge.a.test', 'v1');
      assert.deepEqual(await resolver.resolveTxt('_acme-challenge.a.test'), [['v1']]);
      await srv.clearTxt('_acme-challenge.a.test');
      await assert.rejects(resolver.resolveTxt('_acme-challenge.a.test'));
      assert.deepEqual(await resolver.resolve4('any.test'), ['127.0.0.1']);
      await srv.addA('b.test', '10.1.2.3');
      assert.deepEqual(await resolver.resolve4('b.test'), ['10.1.2.3']);
      await srv.clearA('b.test');
      assert.deepEqual(await resolver.resolve4('b.test'), ['127.0.0.1']);
      await assert.rejects(resolver.resolve6('any.test'), { code: 'ENODATA' });
    } finally {
      await srv.close();
    }
    await assert.rejects(resolver.resolve4('any.test'));
  });

  it('names the Debian package when the binary is missing', () => {
    const empty = mkdtempSync(join(tmpdir(), 'edgeca-nobin-'));
    try {
      assert.throws(() => findChallTestSrv([empty]), /Debian package "pebble"/);
    } finally {
      rmSync(empty, { recursive: true });
    }
  });
});
