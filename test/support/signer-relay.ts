// Relay requests to a signer and its answers as the multi-signer tests read them: a sign request
// for a new order, a revoke request, the serial of an issued chain and the signer's CRL, both
// read by openssl (its number however openssl prints it, an entry however many zeros it shows).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { b64uEncode } from '../../shared/encoding.ts';
import type { SignRequest } from '../../shared/relay.ts';
import { makeCsr } from './signer-service.ts';
import { runTool } from './tools.ts';

let orders = 0;

/** A sign request for a new order (its own order id) for one DNS name, 24 h from now. */
export async function signBody(name = 'ha.example.test'): Promise<Omit<SignRequest, 'jti' | 'iat' | 'exp'>> {
  const now = Date.now();
  return {
    op: 'sign',
    orderId: `ha-order-${++orders}`,
    accountId: 'acct-1',
    profile: 'default',
    csr: b64uEncode(await makeCsr({ dns: [name] })),
    identifiers: [{ type: 'dns', value: name }],
    notBefore: new Date(now).toISOString(),
    notAfter: new Date(now + 86_400_000).toISOString(),
  };
}

export const revokeBody = (serial: string, reason = 1) => ({ op: 'revoke' as const, serial, reason });

/** The leaf's serial as the store and the relay write it: every octet (even length), lower case. */
export async function serialOf(chainPem: string): Promise<string> {
  const r = await runTool('openssl', ['x509', '-noout', '-serial'], { input: chainPem });
  return (r.stdout.trim().split('=')[1] ?? '').toLowerCase();
}

/** `openssl crl -text` of a DER CRL (written into `dir`), checked against the issuer certificate. */
export async function crlText(dir: string, issuerCertFile: string, der: ArrayBuffer): Promise<string> {
  const file = join(dir, `crl-${Date.now()}.der`);
  writeFileSync(file, Buffer.from(der));
  const r = await runTool('openssl', [
    'crl',
    '-inform',
    'DER',
    '-in',
    file,
    '-noout',
    '-text',
    '-CAfile',
    issuerCertFile,
  ]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

/** openssl prints a CRL number that fits a long in decimal, a larger one in hex with colons. */
export function crlNumber(text: string): bigint {
  const v = /CRL Number:\s*([0-9A-Fa-f:x]+)/.exec(text)?.[1];
  if (!v) throw new Error(`no CRL number in:\n${text}`);
  return v.includes(':') || v.startsWith('0x')
    ? BigInt(`0x${v.replace(/^0x/, '').replaceAll(':', '')}`)
    : BigInt(v);
}

/** The signer's current CRL (GET /v1/crl) as DER, its number and openssl's text. */
export async function fetchSignerCrl(
  signerUrl: string,
  dir: string,
  issuerCertFile: string,
): Promise<{ der: ArrayBuffer; number: bigint; text: string }> {
  const res = await fetch(`${signerUrl}/v1/crl`);
  assert.equal(res.status, 200);
  const der = await res.arrayBuffer();
  const text = await crlText(dir, issuerCertFile, der);
  return { der, number: crlNumber(text), text };
}

/** A CRL entry for `serial` in `openssl crl -text` output, however many leading zeros it prints. */
export const listed = (serial: string) => new RegExp(`Serial Number: 0*${serial.replace(/^0+/, '')}\\b`, 'i');
