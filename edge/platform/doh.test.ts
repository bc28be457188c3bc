// The DoH resolver against a real DNS server (pebble-challtestsrv) behind the test DoH responder,
// plus the wire codec on hand-made messages and a resolver that never answers.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type DohServer, startDohServer } from '../../cli/doh-bridge.ts';
import { type ChallTestSrv, startChallTestSrv } from '../../harness/challtestsrv.ts';
import { DnsError } from '../../validation/net.ts';
import { createDohResolver, decodeAnswer, encodeQuery } from './doh.ts';

describe('DoH resolver (RFC 8484 wire format)', { timeout: 60_000 }, () => {
  let dns: ChallTestSrv;
  let doh: DohServer;
  let silent: Server;
  let silentUrl = '';
  before(async () => {
    dns = await startChallTestSrv();
    doh = await startDohServer(dns.dnsAddress);
    silent = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/dns-query`;
  });
  after(async () => {
    silent?.closeAllConnections();
    silent?.close();
    await doh?.close();
    await dns?.close();
  });

  test('resolves TXT records, each record joined', async () => {
    await dns.setTxt('_acme-challenge.doh.test', 'value-one');
    const r = createDohResolver({ url: doh.url });
    assert.deepEqual(await r.resolveTxt('_acme-challenge.doh.test'), ['value-one']);
  });

  test('resolves A records as dotted quads', async () => {
    await dns.addA('addr.doh.test', ['10.1.2.3']);
    const r = createDohResolver({ url: doh.url });
    assert.deepEqual(await r.resolve4('addr.doh.test'), ['10.1.2.3']);
  });

  test('answers NODATA when the name has no records of that type', async () => {
    const r = createDohResolver({ url: doh.url });
    await assert.rejects(
      r.resolve6('addr.doh.test'),
      (e: unknown) => e instanceof DnsError && e.code === 'NODATA',
    );
    await assert.rejects(
      r.resolveTxt('_acme-challenge.none.doh.test'),
      (e: unknown) => e instanceof DnsError && (e.code === 'NODATA' || e.code === 'NXDOMAIN'),
    );
  });

  test('times out with TIMEOUT when the resolver never answers', async () => {
    const r = createDohResolver({ url: silentUrl, timeoutMs: 300 });
    const started = Date.now();
    await assert.rejects(r.resolve4('x.test'), (e: unknown) => e instanceof DnsError && e.code === 'TIMEOUT');
    assert.ok(Date.now() - started < 2000);
  });

  test('fails with OTHER when the resolver is unreachable', async () => {
    const r = createDohResolver({ url: 'http://127.0.0.1:1/dns-query', timeoutMs: 1000 });
    await assert.rejects(r.resolve4('x.test'), (e: unknown) => e instanceof DnsError && e.code === 'OTHER');
  });
});

describe('DNS wire codec', () => {
  test('encodes a query with id 0, RD set and one IN question', () => {
    const q = encodeQuery('a.test.', 'TXT');
    assert.deepEqual(
      [...q],
      [0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 97, 4, 116, 101, 115, 116, 0, 0, 16, 0, 1],
    );
  });

  test('reads NXDOMAIN from the rcode and follows compressed names past a CNAME', () => {
    const q = encodeQuery('a.test', 'A');
    const header = [0, 0, 0x81, 0x83, 0, 1, 0, 0, 0, 0, 0, 0];
    assert.equal(decodeAnswer(new Uint8Array([...header, ...q.subarray(12)]), 'A').rcode, 3);
    const cname = [0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 4, 1, 98, 0xc0, 14];
    const a = [0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 7];
    const ok = [0, 0, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0, ...q.subarray(12), ...cname, ...a];
    const out = decodeAnswer(new Uint8Array(ok), 'A');
    assert.equal(out.rcode, 0);
    assert.deepEqual(
      out.records.map((r) => [...r]),
      [[10, 0, 0, 7]],
    );
  });

  test('rejects a truncated answer with a DnsError', () => {
    assert.throws(
      () => decodeAnswer(new Uint8Array([0, 0, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 1]), 'A'),
      DnsError,
    );
  });
});
