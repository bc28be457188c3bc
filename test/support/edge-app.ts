// The edge app in this process, without sockets: a real libSQL file in a temp dir, the real Node
// runtime adapter, and `app.request` as the transport. The signer is whatever the test passes
// (a real relay client to a running signer, or — in unit tests of the edge alone — a stand-in).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hono } from 'hono';
import { createApp } from '../../edge/app.ts';
import { defaultEdgeConfig, type EdgeConfig } from '../../edge/config.ts';
import type { AppEnv } from '../../edge/context.ts';
import { openLibsqlClient } from '../../edge/main/libsql.ts';
import { createNodeRuntime } from '../../edge/platform/node.ts';
import type { EdgeRuntime } from '../../edge/platform/types.ts';
import type { SignerClient } from '../../edge/relay/signer-client.ts';
import type { EdgeServices } from '../../edge/services.ts';
import { createServices } from '../../edge/services.ts';
import type { FetchLike } from './acme.ts';

export const BASE = 'https://acme.test:14000';

/** A signer stand-in that refuses to be called: for tests whose requests must never reach it. */
export const unreachableSigner: SignerClient = {
  sign: async () => ({ status: 'unavailable', detail: 'no signer in this test' }),
  revoke: async () => ({ status: 'unavailable', detail: 'no signer in this test' }),
  crl: async () => {
    throw new Error('no signer in this test');
  },
};

export interface InprocEdge {
  app: Hono<AppEnv>;
  svc: EdgeServices;
  fetch: FetchLike;
  directoryUrl: string;
  /** every row of every table but the nonce tables, for "nothing changed" assertions */
  snapshot(): Promise<string>;
  close(): void;
}

export async function startInprocEdge(
  opts: {
    signer?: SignerClient;
    config?: Partial<EdgeConfig>;
    dnsResolver?: string;
    /** another runtime adapter than Node's (e.g. one without raw TLS, as on Deno and Workers) */
    runtime?: EdgeRuntime;
  } = {},
): Promise<InprocEdge> {
  const dir = mkdtempSync(join(tmpdir(), 'edgeca-edge-'));
  // config.dbUrl: a database another edge in the test uses too (two instances, one database)
  const dbUrl = opts.config?.dbUrl ?? `file:${join(dir, 'edge.db')}`;
  const { generateKeyPair, exportJWK } = await import('jose');
  const relay = await generateKeyPair('ES256', { extractable: true });
  const relayKeyJwk = { ...(await exportJWK(relay.privateKey)), kid: 'edge-test' };
  const config = defaultEdgeConfig({
    baseUrl: BASE,
    dbUrl,
    signerUrl: 'http://127.0.0.1:9',
    relayKeyJwk,
    allowLoopback: true,
    ...opts.config,
  });
  // the client the Node and Deno entry points open (an embedded file: statements prepared once)
  const client = openLibsqlClient(config);
  const svc = await createServices({
    config,
    runtime: opts.runtime ?? createNodeRuntime(opts.dnsResolver ? { dnsResolver: opts.dnsResolver } : {}),
    dbClient: client,
    signer: opts.signer ?? unreachableSigner,
    log: () => {},
  });
  const app = createApp(svc);
  const fetchLike: FetchLike = async (url, init) => app.request(url, init);
  return {
    app,
    svc,
    fetch: fetchLike,
    directoryUrl: `${BASE}/directory`,
    async snapshot() {
      const tables = ['accounts', 'eab_keys', 'orders', 'authorizations', 'challenges', 'certificates'];
      const out: Record<string, unknown> = {};
      for (const t of tables) out[t] = (await client.execute(`SELECT * FROM ${t} ORDER BY rowid`)).rows;
      return JSON.stringify(out);
    },
    close() {
      client.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
