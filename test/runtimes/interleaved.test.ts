// Two edge instances, one on Node and one on Deno, behind one name and on one libSQL file, serving
// one client whose requests alternate between them (as a load balancer would): nonces, accounts,
// orders and validation state live in the database, so nothing is lost and no nonce is refused
// because the other instance issued it — while a used nonce stays used on both (RFC 8555 §6.5).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FetchLike } from '../support/acme.ts';
import { httpsFetch } from '../support/https-fetch.ts';
import { type Deps, execLibsql, type RunningEdge, seedEabLibsql, startDenoEdge, startDeps } from './edges.ts';
import { eabAccount, type FlowTarget, issue } from './flow.ts';

let deps: Deps | undefined;
let deno: RunningEdge | undefined;
let t: FlowTarget;
const served = { node: 0, deno: 0 };
let next: 'node' | 'deno' = 'node';

describe('Node and Deno edges on one libSQL file, one client interleaved', { timeout: 300_000 }, () => {
  before(async () => {
    deps = await startDeps();
    const { sys, dns, http01 } = deps;
    const base = httpsFetch(sys.caFile);
    // The Deno instance names the Node instance's origin in its URLs: one service, two instances.
    deno = await startDenoEdge({
      sys,
      dbUrl: sys.dbUrl,
      baseUrl: sys.edgeUrl,
      dnsResolver: dns.dnsAddress,
      http01Port: http01.port,
      fetch: base,
    });
    const denoUrl = deno.listenUrl;
    const alternating: FetchLike = (url, init) => {
      const target = next;
      next = next === 'node' ? 'deno' : 'node';
      served[target]++;
      return base(target === 'deno' ? url.replace(sys.edgeUrl, denoUrl) : url, init);
    };
    t = {
      directoryUrl: sys.directoryUrl,
      fetch: alternating,
      caFile: sys.caFile,
      seedEab: () => seedEabLibsql(sys.dbUrl),
      exec: (sql) => execLibsql(sys.dbUrl, sql),
      dns,
      http01,
      output: () => deno?.output() ?? '',
    };
  });
  after(async () => {
    await deno?.stop();
    await deps?.stop();
  });

  test('issues through both instances alternately without badNonce or lost state', async () => {
    const c = await eabAccount(t);
    await issue(t, c, { type: 'ip', value: '127.0.0.1' }, 'http-01');
    await issue(t, c, { type: 'dns', value: 'interleaved.edgeca.test' }, 'dns-01');
    assert.ok(served.node > 10 && served.deno > 10, `both instances served: ${JSON.stringify(served)}`);
  });

  test('a nonce used at one instance is refused at the other as badNonce', async () => {
    const c = await eabAccount(t);
    const nonce = await c.nonce();
    const first = await c.post(c.kid!, '', { nonce });
    assert.equal(first.status, 200, await first.clone().text());
    const replay = await c.post(c.kid!, '', { nonce });
    assert.equal(((await replay.json()) as { type?: string }).type, 'urn:ietf:params:acme:error:badNonce');
  });
});
