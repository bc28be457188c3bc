// What every request handler can reach: the services (edge/services.ts) and the verified JWS
// that the middleware put there, as typed Hono context variables. Handlers never parse a JWS themselves.
import type { JWK } from 'jose';
import type { EdgeServices } from './services.ts';
import type { AccountRow } from './storage/schema.ts';

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
