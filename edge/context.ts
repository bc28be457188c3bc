// What every request handler can reach: the services (typed Hono context variables) and the
// verified JWS that the middleware put there. Handlers never parse a JWS themselves.
import type { JWK } from 'jose';
import type { EdgeConfig } from './config.ts';
import type { Linker } from './linker.ts';
import type { SignerClient } from './relay/signer-client.ts';
import type { EdgeRuntime } from './runtime/types.ts';
import type { AccountRepo, EabRepo } from './storage/accounts.ts';
import type { Database } from './storage/db.ts';
import type { NonceRepo } from './storage/nonces.ts';
import type { CertificateRepo, OrderRepo } from './storage/orders.ts';
import type { AccountRow } from './storage/schema.ts';

export interface EdgeServices {
  config: EdgeConfig;
  runtime: EdgeRuntime;
  database: Database;
  linker: Linker;
  nonces: NonceRepo;
  accounts: AccountRepo;
  eab: EabRepo;
  orders: OrderRepo;
  certificates: CertificateRepo;
  signer: SignerClient;
  log(event: Record<string, unknown>): void;
}

export interface ProtectedHeader {
  alg: string;
  nonce: string;
  url: string;
  jwk?: JWK;
  kid?: string;
  [k: string]: unknown;
}

export interface VerifiedJws {
  protectedHeader: ProtectedHeader;
  /** parsed JSON payload, or null for POST-as-GET (empty payload) */
  payload: unknown;
  /** the key that signed: the account's for kid requests, the embedded one for jwk requests */
  jwk: JWK;
  thumbprint: string;
  /** the account, for kid requests */
  account?: AccountRow;
}

export type AppEnv = {
  Variables: {
    svc: EdgeServices;
    jws: VerifiedJws;
    /** this request's id (X-Request-Id), relayed to the signer as `rid` (edge/observability/) */
    requestId: string;
    /** the client's address, the key of per-address buckets (edge/ratelimit/client-address.ts) */
    clientAddress: string;
  };
};
