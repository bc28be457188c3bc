// The purge of expired rows from the Workers Cron Trigger: the edge on workerd (`wrangler dev
// --local --test-scheduled`, its local D1) is sent the cron event through /__scheduled, as
// Cloudflare sends it on the schedule in wrangler.toml; the expired rows seeded into D1 go and the
// live ones stay. (wrangler dev does not pass the Worker's console lines on here, so the run's log
// line is checked on Node, in edge/storage/retention.test.ts.)
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type DohServer, startDohServer } from '../../cli/doh-bridge.ts';
import { httpsFetch } from '../support/https-fetch.ts';
import { type Deps, startDeps, startWorkerdEdge, type WorkerdEdge } from './edges.ts';

const DAY = 86_400_000;
let deps: Deps | undefined;
let doh: DohServer | undefined;
let edge: WorkerdEdge | undefined;

describe('purge on the Workers cron trigger (workerd, D1)', { timeout: 300_000 }, () => {
  before(async () => {
    deps = await startDeps();
    doh = await startDohServer(deps.dns.dnsAddress);
    edge = await startWorkerdEdge({
      sys: deps.sys,
      dnsResolver: doh.url,
      http01Port: deps.http01.port,
      fetch: httpsFetch(deps.sys.caFile),
      wranglerArgs: ['--test-scheduled'],
    });
  });
  after(async () => {
    await edge?.stop();
    await doh?.close();
    await deps?.stop();
  });

  it('the cron event purges expired orders, authorizations and nonces from D1 and keeps live ones', async () => {
    const e = edge as WorkerdEdge;
    const now = Date.now();
    const old = now - 30 * DAY;
    await e.exec(
      `INSERT INTO orders (id, account_id, status, identifiers, authz_ids, profile, expires_at, created_at) VALUES
         ('cron-old', 'a', 'invalid', '[]', '[]', 'default', ${old}, ${old}),
         ('cron-live', 'a', 'pending', '[]', '[]', 'default', ${now + DAY}, ${now});
       INSERT INTO authorizations (id, account_id, identifier_type, identifier_value, status, expires_at, created_at) VALUES
         ('cron-z-old', 'a', 'dns', 'old.test', 'valid', ${old}, ${old});
       INSERT INTO challenges (id, authz_id, type, token, status) VALUES ('cron-c-old', 'cron-z-old', 'http-01', 't', 'valid');
       INSERT INTO nonces (value, expires_at) VALUES ('cron-n-old', ${old}), ('cron-n-live', ${now + DAY});`,
    );
    const res = await fetch(`${e.listenUrl}/__scheduled?cron=${encodeURIComponent('* * * * *')}`);
    assert.equal(res.status, 200, await res.text());
    // the handler awaits its jobs, so the rows are gone when the answer arrives
    const orders = await e.query(`SELECT id FROM orders WHERE id LIKE 'cron-%' ORDER BY id`);
    assert.deepEqual(
      orders.map((r) => r.id),
      ['cron-live'],
    );
    assert.deepEqual(await e.query(`SELECT id FROM authorizations WHERE id LIKE 'cron-%'`), []);
    assert.deepEqual(await e.query(`SELECT id FROM challenges WHERE id LIKE 'cron-%'`), []);
    const nonces = await e.query(`SELECT value FROM nonces WHERE value LIKE 'cron-%'`);
    assert.deepEqual(
      nonces.map((r) => r.value),
      ['cron-n-live'],
    );
  });
});
