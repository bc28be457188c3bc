// Shared machinery of the property tests: one in-process edge with an account and an
// order, and the one property every hostile request must meet — the answer is a problem document
// (never a 5xx), and a refused request changes no row (invariant 5 in docs/architecture.md).
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { EdgeConfig } from '../../edge/config.ts';
import { b64uEncode } from '../../shared/encoding.ts';
import { ACME_ERROR_PREFIX } from '../../shared/problems.ts';
import { newKey, TestAcme } from '../support/acme.ts';
import { type InprocEdge, startInprocEdge } from '../support/edge-app.ts';

/** Generated cases per property (at least 10,000); EDGECA_PROPERTY_RUNS may raise it. */
export const RUNS = Math.max(10_000, Number(process.env.EDGECA_PROPERTY_RUNS ?? 0) || 0);

/** fast-check settings: a fixed seed unless EDGECA_PROPERTY_SEED asks for another, so a failure replays. */
export function params(runs = RUNS): fc.Parameters<unknown> {
  const seed = Number(process.env.EDGECA_PROPERTY_SEED ?? 0x5eed10);
  return { numRuns: runs, seed, endOnFailure: true };
}

export interface World {
  edge: InprocEdge;
  acme: TestAcme;
  orderUrl: string;
  finalizeUrl: string;
  authzUrl: string;
  challengeUrl: string;
}

export async function world(config: Partial<EdgeConfig> = {}): Promise<World> {
  const edge = await startInprocEdge({ config });
  // Speed only (durability is not what these tests prove): a nonce costs no fsync'd journal.
  await edge.svc.database.client?.execute('PRAGMA journal_mode=WAL');
  await edge.svc.database.client?.execute('PRAGMA synchronous=OFF');
  await watchWrites(edge);
  const acme = await new TestAcme(edge.fetch, edge.directoryUrl, await newKey('ES256')).init();
  const acc = await acme.newAccount();
  assert.equal(acc.status, 201, await acc.text());
  const res = await acme.post(acme.dir.newOrder, {
    identifiers: [{ type: 'dns', value: 'prop.example.test' }],
  });
  assert.equal(res.status, 201, await res.clone().text());
  const order = (await res.json()) as { finalize: string; authorizations: string[] };
  const authzUrl = order.authorizations[0]!;
  const authz = (await (await acme.post(authzUrl, '')).json()) as { challenges: { url: string }[] };
  return {
    edge,
    acme,
    orderUrl: res.headers.get('location')!,
    finalizeUrl: order.finalize,
    authzUrl,
    challengeUrl: authz.challenges[0]!.url,
  };
}

/** The tables InprocEdge.snapshot() covers: what a refused request must leave alone. */
const WATCHED = ['accounts', 'eab_keys', 'orders', 'authorizations', 'challenges', 'certificates'];

/**
 * Triggers that count every insert, update and delete on the watched tables, from any connection:
 * a cheap witness of "no row changed" between two reads of the counter (a full snapshot per case
 * would cost more than the request).
 */
async function watchWrites(edge: InprocEdge): Promise<void> {
  const c = edge.svc.database.client;
  assert.ok(c, 'the property edge runs on libSQL');
  await c.execute('CREATE TABLE IF NOT EXISTS prop_watch (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)');
  await c.execute('INSERT OR IGNORE INTO prop_watch (id, n) VALUES (1, 0)');
  for (const t of WATCHED) {
    for (const op of ['INSERT', 'UPDATE', 'DELETE']) {
      await c.execute(
        `CREATE TRIGGER IF NOT EXISTS prop_watch_${t}_${op.toLowerCase()} AFTER ${op} ON ${t} BEGIN UPDATE prop_watch SET n = n + 1 WHERE id = 1; END`,
      );
    }
  }
}

/** How many writes the watched tables have seen. */
export async function writes(edge: InprocEdge): Promise<number> {
  const r = await edge.svc.database.client!.execute('SELECT n FROM prop_watch WHERE id = 1');
  return Number(r.rows[0]?.n);
}

export const b64uText = (s: string): string => b64uEncode(new TextEncoder().encode(s));

/** Asserts the answer itself: below 500 always; a refusal is an ACME problem document. */
export async function expectProblemOrSuccess(res: Response, what: string): Promise<void> {
  const text = await res.text();
  assert.ok(res.status < 500, `${what}: HTTP ${res.status} ${text.slice(0, 300)}`);
  if (res.status < 400) return;
  assert.match(
    res.headers.get('content-type') ?? '',
    /^application\/problem\+json\b/,
    `${what}: problem+json`,
  );
  const doc = JSON.parse(text) as { type?: unknown; detail?: unknown };
  assert.ok(
    typeof doc.type === 'string' && doc.type.startsWith(ACME_ERROR_PREFIX),
    `${what}: ACME error type (${String(doc.type)})`,
  );
  assert.ok(typeof doc.detail === 'string' && doc.detail.length > 0, `${what}: detail`);
}

/**
 * Watches the database across a property's cases: every refused case must leave the watched
 * tables' write counter where it was. `refusalsOnly`: every case must be refused. Otherwise a case
 * may succeed (a generator can stumble on a valid request), and its writes are allowed. A full
 * snapshot compares every row at the start and the end.
 */
export class StateGuard {
  private snap = '';
  private count = 0;
  private succeeded = false;
  constructor(
    private readonly edge: InprocEdge,
    private readonly refusalsOnly: boolean,
  ) {}
  async start(): Promise<this> {
    this.snap = await this.edge.snapshot();
    this.count = await writes(this.edge);
    return this;
  }
  async check(res: Response, what: string): Promise<void> {
    await expectProblemOrSuccess(res, what);
    if (this.refusalsOnly) assert.ok(res.status >= 400, `${what}: refused (HTTP ${res.status})`);
    const now = await writes(this.edge);
    if (res.status >= 400) assert.equal(now, this.count, `${what}: a refused request changed rows`);
    else if (now !== this.count) this.succeeded = true;
    this.count = now;
  }
  async end(): Promise<void> {
    if (!this.succeeded)
      assert.equal(await this.edge.snapshot(), this.snap, 'no row changed by the refused requests');
  }
}

/** Arbitrary JSON values, including deep and odd ones (big numbers, unicode, __proto__ keys). */
export const anyJson = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.constantFrom<unknown>(null, {}, [], '', 0, -1, 1e308, true, { __proto__: null }, { constructor: 1 }),
);
