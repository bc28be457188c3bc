// Standard Webhooks signatures (https://www.standardwebhooks.com/, "Signature scheme"): the secret
// is `whsec_` followed by the base64 of the key; each delivery carries `webhook-id` (the event's
// stable id, the same on every retry, for de-duplication), `webhook-timestamp` (integer seconds)
// and `webhook-signature: v1,<base64 HMAC-SHA256 over "<id>.<timestamp>.<body>">`. Web Crypto only,
// so the same code signs on Node, Deno and Workers; `verifyWebhook` is what a receiver runs (tests).
import { b64Encode, timingSafeEqual } from '../../shared/encoding.ts';

const PREFIX = 'whsec_';

/** A new signing secret: 32 random bytes. */
export function newWebhookSecret(): string {
  return PREFIX + b64Encode(crypto.getRandomValues(new Uint8Array(32)));
}

function secretKey(secret: string): Uint8Array<ArrayBuffer> {
  const b64 = secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret;
  const bin = atob(b64);
  const key = new Uint8Array(new ArrayBuffer(bin.length));
  for (let i = 0; i < bin.length; i++) key[i] = bin.charCodeAt(i);
  return key;
}

async function hmac(secret: string, content: string): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey(
    'raw',
    secretKey(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  return new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(content)));
}

/** The three headers of one delivery attempt. */
export async function signWebhook(
  secret: string,
  msg: { id: string; timestampSeconds: number; body: string },
): Promise<Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string>> {
  const ts = String(Math.floor(msg.timestampSeconds));
  const sig = b64Encode(await hmac(secret, `${msg.id}.${ts}.${msg.body}`));
  return { 'webhook-id': msg.id, 'webhook-timestamp': ts, 'webhook-signature': `v1,${sig}` };
}

/**
 * A receiver's check: one of the space-separated `v1,` signatures matches, and the timestamp lies
 * within `toleranceSeconds` of `nowSeconds` (the spec's replay window, 5 minutes by default).
 */
export async function verifyWebhook(
  secret: string,
  headers: { id: string; timestamp: string; signature: string },
  body: string,
  nowSeconds = Date.now() / 1000,
  toleranceSeconds = 300,
): Promise<boolean> {
  const ts = Number(headers.timestamp);
  if (!/^\d+$/.test(headers.timestamp) || Math.abs(nowSeconds - ts) > toleranceSeconds) return false;
  const want = await hmac(secret, `${headers.id}.${headers.timestamp}.${body}`);
  for (const part of headers.signature.split(' ')) {
    const [version, sig] = part.split(',', 2);
    if (version !== 'v1' || !sig) continue;
    let got: Uint8Array;
    try {
      got = secretKey(sig);
    } catch {
      continue;
    }
    if (timingSafeEqual(got, want)) return true;
  }
  return false;
}
