// External Account Binding (RFC 8555 §7.3.4): a JWS, MACed with a key the admin handed out, whose
// payload is the new account's public key. The key id must be known, unrevoked, unexpired and not yet
// at its account limit (one account unless the admin set maxAccounts);
// the account then inherits the key's name policy, allowed profiles and expiry (edge/policy/issuance.ts).
import { flattenedVerify, type JWK } from 'jose';
import { b64uDecode, b64uEncode } from '../../shared/encoding.ts';
import { AcmeProblem } from '../../shared/problems.ts';
import type { EdgeServices } from '../services.ts';
import { parseFlattenedJws, thumbprintOf } from './jws.ts';

const EAB_ALGS = ['HS256', 'HS384', 'HS512'];

function decodeJson(b64: string, what: string): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(b64uDecode(b64)));
  } catch {
    throw new AcmeProblem('malformed', `externalAccountBinding ${what} is not base64url JSON`);
  }
}

/** Returns the EAB key id the account may bind to; throws a problem when the binding is not valid. */
export async function verifyEab(svc: EdgeServices, eab: unknown, accountThumbprint: string): Promise<string> {
  const jws = parseFlattenedJws(eab);
  const hdr = decodeJson(jws.protected, 'protected header') as Record<string, unknown>;
  if (typeof hdr !== 'object' || hdr === null)
    throw new AcmeProblem('malformed', 'externalAccountBinding header must be an object');
  if (typeof hdr.alg !== 'string' || !EAB_ALGS.includes(hdr.alg)) {
    throw new AcmeProblem(
      'badSignatureAlgorithm',
      `externalAccountBinding must use a MAC algorithm (${EAB_ALGS.join(', ')})`,
      {
        algorithms: EAB_ALGS,
      },
    );
  }
  if ('nonce' in hdr)
    throw new AcmeProblem('malformed', 'externalAccountBinding must not contain a nonce (RFC 8555 §7.3.4)');
  if (hdr.url !== svc.linker.newAccount()) {
    throw new AcmeProblem('unauthorized', 'externalAccountBinding "url" must be the newAccount URL');
  }
  if (typeof hdr.kid !== 'string' || hdr.kid.length === 0)
    throw new AcmeProblem('malformed', 'externalAccountBinding needs a "kid"');
  const key = await svc.eab.get(hdr.kid);
  if (!key) throw new AcmeProblem('unauthorized', `external account key "${hdr.kid}" is not known`);
  if (key.revokedAt)
    throw new AcmeProblem('unauthorized', `external account key "${hdr.kid}" has been revoked`);
  // Checked again, atomically, by the account insert (edge/storage/accounts.ts); this early check
  // gives the usual case its clear answer before any work.
  if (key.maxAccounts !== null && (await svc.eab.boundAccounts(hdr.kid)) >= key.maxAccounts) {
    throw new AcmeProblem(
      'unauthorized',
      key.maxAccounts === 1
        ? `external account key "${hdr.kid}" is already bound to an account`
        : `external account key "${hdr.kid}" has already bound the ${key.maxAccounts} accounts it may bind`,
    );
  }
  // A key may carry an expiry (admin API); past it the key binds nothing.
  const { expiresAt } = await (await svc.stores()).settings.eabSettings(hdr.kid);
  if (expiresAt !== null && expiresAt <= Date.now()) {
    throw new AcmeProblem(
      'unauthorized',
      `external account key "${hdr.kid}" expired on ${new Date(expiresAt).toISOString()}`,
    );
  }
  try {
    await flattenedVerify(jws, b64uDecode(key.hmacKey), { algorithms: EAB_ALGS });
  } catch {
    throw new AcmeProblem('unauthorized', 'externalAccountBinding MAC does not verify with that key');
  }
  const bound = decodeJson(jws.payload, 'payload') as JWK;
  if ((await thumbprintOf(bound)) !== accountThumbprint) {
    throw new AcmeProblem('unauthorized', 'externalAccountBinding payload is not the account key in the JWS');
  }
  return hdr.kid;
}

/**
 * A new EAB key id and HMAC key (256 bits, base64url). Neither starts with "-": clients take them
 * as command-line arguments (certbot's --eab-hmac-key would read such a key as an option).
 */
export function newEabCredentials(): { kid: string; hmacKey: string } {
  const pick = (bytes: number) => {
    for (;;) {
      const v = b64uEncode(crypto.getRandomValues(new Uint8Array(bytes)));
      if (!v.startsWith('-')) return v;
    }
  };
  return { kid: `eab-${pick(9)}`, hmacKey: pick(32) };
}
