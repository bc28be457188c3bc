// The services of one edge: configuration, runtime adapter, database and its repositories (the
// events outbox among them), relay clients, run-time settings stores and metrics — every member built here, once, by
// `createServices`, and passed to the app (a typed Hono context variable, edge/context.ts). It sits
// at the root of edge/ so that every folder taking services imports this file rather than another
// folder.
import type { Client } from '@libsql/client';
import { type EdgeConfig, parseUrlList } from './config.ts';
import { Linker } from './linker.ts';
import { collectPeers, createEdgeMetrics, type EdgeMetrics, instrumentSignerClient } from './metrics.ts';
import type { EdgeRuntime } from './platform/types.ts';
import { createSignerClient, type SignerClient } from './relay/signer-client.ts';
import { createValidatorClient, type ValidatorClient } from './relay/validator-client.ts';
import { type AccountCache, createAccountCache } from './storage/account-cache.ts';
import { type AccountRepo, createAccountRepo, createEabRepo, type EabRepo } from './storage/accounts.ts';
import { type AdminStore, createAdminStore } from './storage/admin.ts';
import { type Database, openDatabase } from './storage/db.ts';
import { createEventRepo, type EventRepo } from './storage/events.ts';
import { createNonceRepo, type NonceRepo } from './storage/nonces.ts';
import {
  type CertificateRepo,
  createCertificateRepo,
  createOrderRepo,
  type OrderRepo,
} from './storage/orders.ts';
import { type Bucket, createBucket } from './storage/rate-buckets.ts';
import { createRenewalStore, type RenewalStore } from './storage/renewal.ts';
import type { PurgeRun } from './storage/retention.ts';
import { createSettingsStore, type SettingsStore } from './storage/settings.ts';

/** The run-time settings stores: settings (profiles, policies, limits), admin, rate-limit buckets. */
export interface Stores {
  settings: SettingsStore;
  admin: AdminStore;
  buckets: Bucket;
}

export interface EdgeServices {
  config: EdgeConfig;
  runtime: EdgeRuntime;
  database: Database;
  linker: Linker;
  nonces: NonceRepo;
  accounts: AccountRepo;
  /**
   * Accounts read by `kid`, reused for EDGECA_ACCOUNT_CACHE_S by this process; whoever changes an
   * account's status or key forgets it here (edge/storage/account-cache.ts).
   */
  accountCache: AccountCache;
  eab: EabRepo;
  orders: OrderRepo;
  certificates: CertificateRepo;
  /** renewal information (RFC 9773): window overrides and scheduled revocations */
  renewals: RenewalStore;
  /** the events outbox and the webhook endpoints and deliveries (edge/events/) */
  events: EventRepo;
  signer: SignerClient;
  metrics: EdgeMetrics;
  /**
   * The run-time settings stores. The first call seeds the profiles of the deployment config into
   * a database that has never had any; a failed seed is retried by the next call, not remembered.
   */
  stores(): Promise<Stores>;
  /** The on-prem validators' client (failover over EDGECA_VALIDATOR_URL's list), made on first use. */
  validator(): Promise<ValidatorClient>;
  /** When this instance last started an opportunistic scheduled-revocation run (ms; 0: never). */
  scheduledRevocation: { lastRun: number };
  /** This instance's purge run in progress (edge/acme/purge-job.ts), so a slow run and the next tick do not overlap. */
  purge: { running: Promise<PurgeRun> | undefined };
  log(event: Record<string, unknown>): void;
}

/** One validator call, its own 5 s validation included. */
const VALIDATOR_TIMEOUT_MS = 15_000;

export async function createServices(opts: {
  config: EdgeConfig;
  runtime: EdgeRuntime;
  /** a libSQL client, opened and migrated here (Node, Deno, remote libSQL) ... */
  dbClient?: Client;
  /** ... or a database the runtime already opened (D1 on Workers) */
  database?: Database;
  signer?: SignerClient;
  log?: (e: Record<string, unknown>) => void;
}): Promise<EdgeServices> {
  const { config, runtime } = opts;
  let database = opts.database;
  if (!database) {
    if (!opts.dbClient) throw new Error('createServices needs a dbClient or a database');
    database = await openDatabase(opts.dbClient, { countStatements: config.sqlStatementMetrics });
  }
  const db = database.db;
  const log = opts.log ?? ((e) => console.log(JSON.stringify({ time: new Date().toISOString(), ...e })));
  const metrics = createEdgeMetrics(database);
  const nonces = await createNonceRepo(db, config.nonceLifetimeSeconds, {
    rejectPercent: config.nonceRejectPercent,
  });
  const signerFetch = relayFetch(config, runtime);
  const signer =
    opts.signer ??
    (await createSignerClient({
      urls: parseUrlList('signerUrl', config.signerUrl),
      relayKeyJwk: config.relayKeyJwk,
      answerKeysJwk: config.signerKeysJwk,
      timeoutMs: config.relayTimeoutMs,
      connectTimeoutMs: config.relayConnectTimeoutMs,
      retryAfterMs: config.relayRetryAfterS * 1000,
      ...(signerFetch ? { fetch: signerFetch } : {}),
      log: (e) => svc.log(e),
      observe: (e) =>
        metrics.relayAttempts.inc({ service: 'signer', peer: String(e.peer), op: e.op, outcome: e.outcome }),
    }));

  const stores: Stores = {
    settings: createSettingsStore(db),
    admin: createAdminStore(db),
    buckets: createBucket(db),
  };
  let seeded: Promise<void> | undefined;
  let validator: Promise<ValidatorClient> | undefined;

  const svc: EdgeServices = {
    config,
    runtime,
    database,
    linker: new Linker(config.baseUrl),
    nonces,
    accounts: createAccountRepo(db),
    accountCache: createAccountCache({ ttlMs: config.accountCacheSeconds * 1000 }),
    eab: createEabRepo(db),
    orders: createOrderRepo(db),
    certificates: createCertificateRepo(db),
    renewals: createRenewalStore(db),
    events: createEventRepo(db),
    // Every relay call is timed into edgeca_relay_duration_seconds.
    signer: instrumentSignerClient(signer, metrics),
    metrics,
    async stores() {
      if (!seeded) {
        const s = stores.settings.ensureSeeded(config.profiles, config.defaultProfile);
        seeded = s;
        s.catch(() => {
          if (seeded === s) seeded = undefined;
        });
      }
      await seeded;
      return stores;
    },
    validator() {
      if (!validator) {
        if (!config.validatorUrl || !config.validatorKeyJwk) {
          return Promise.reject(new Error('no on-prem validator is configured'));
        }
        validator = createValidatorClient({
          urls: parseUrlList('validatorUrl', config.validatorUrl),
          relayKeyJwk: config.relayKeyJwk,
          validatorKeyJwk: config.validatorKeyJwk,
          timeoutMs: VALIDATOR_TIMEOUT_MS,
          retryAfterMs: config.relayRetryAfterS * 1000,
          healthTimeoutMs: config.relayConnectTimeoutMs,
          log: (e) => svc.log(e),
          observe: (e) =>
            metrics.relayAttempts.inc({
              service: 'validator',
              peer: String(e.peer),
              op: 'validate',
              outcome: e.outcome,
            }),
        }).then((client) => {
          collectPeers(metrics, 'validator', () => client.peers());
          return client;
        });
      }
      return validator;
    },
    scheduledRevocation: { lastRun: 0 },
    purge: { running: undefined },
    log,
  };
  return svc;
}

/**
 * The fetch for https signers when a CA is pinned (EDGECA_SIGNER_CA_FILE): the runtime's, as each
 * runtime has its own way (docs/runtimes.md); a runtime without one cannot honour the pin, and the
 * edge refuses to start rather than talk to the signer without it.
 */
function relayFetch(config: EdgeConfig, runtime: EdgeRuntime): typeof fetch | undefined {
  if (!config.signerCaPem) return undefined;
  if (!runtime.pinnedFetch) {
    throw new Error(
      `EDGECA_SIGNER_CA(_FILE) is set, but the edge on ${runtime.name} cannot pin a CA for its fetch (docs/runtimes.md)`,
    );
  }
  return runtime.pinnedFetch(config.signerCaPem);
}
