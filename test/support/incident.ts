// Shared by the incident tests over the whole system: the admin API as a token, accounts whose EAB
// key pre-authorizes every name under a suffix (so issuance needs no challenge), one issuance with a
// chosen key, and the signer's CRL read with @peculiar/x509.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as x509 from '@peculiar/x509';
import { newKey, TestAcme } from './acme.ts';
import { httpsFetch } from './https-fetch.ts';
import { csrFor, finalizeAndDownload, type OrderDoc, readyOrder } from './issuance.ts';
import type { System } from './system.ts';

/** A write token made by the CLI straight in the edge database, as an operator's first one is. */
export async function cliWriteToken(sys: System): Promise<string> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      'bin/edgeca.mjs',
      'admin',
      'token',
      'create',
      '--scope',
      'write',
      '--name',
      'incident',
      '--db',
      sys.dbUrl,
      '--json',
    ],
    { timeout: 60_000 },
  );
  return (JSON.parse(stdout) as { token: string }).token;
}

export class IncidentRig {
  readonly fetch: ReturnType<typeof httpsFetch>;
  constructor(
    readonly sys: System,
    readonly token: string,
  ) {
    this.fetch = httpsFetch(sys.caFile);
  }

  async admin(method: string, path: string, body?: unknown): Promise<{ status: number; doc: unknown }> {
    const res = await this.fetch(`${this.sys.edgeUrl}/admin${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, doc: text ? JSON.parse(text) : undefined };
  }

  async adminOk<T>(method: string, path: string, body?: unknown): Promise<T> {
    const r = await this.admin(method, path, body);
    assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${JSON.stringify(r.doc)}`);
    return r.doc as T;
  }

  /** An account bound to a fresh EAB key that pre-authorizes every name under `suffix`. */
  async preauthorizedAccount(name: string, suffix: string): Promise<TestAcme> {
    const k = await this.adminOk<{ kid: string; hmacKey: string }>('POST', '/eab-keys', {
      name,
      policy: { allow: [suffix], deny: [] },
      preAuthorize: true,
    });
    const c = await new TestAcme(this.fetch, this.sys.directoryUrl, await newKey()).init();
    const res = await c.newAccount({
      termsOfServiceAgreed: true,
      externalAccountBinding: await c.eab(k.kid, k.hmacKey),
    });
    assert.equal(res.status, 201, await res.text());
    return c;
  }

  /** newOrder for a pre-authorized `name`, polled until ready (no challenge to answer). */
  readyOrder(c: TestAcme, name: string): Promise<{ url: string; order: OrderDoc }> {
    return readyOrder(c, undefined, [{ type: 'dns', value: name }]);
  }

  /** newOrder (pre-authorized) → finalize with a CSR for `keys` (or a fresh key) → serial and chain. */
  async issue(c: TestAcme, name: string, keys?: CryptoKeyPair): Promise<{ serial: string; pem: string }> {
    const ids = [{ type: 'dns' as const, value: name }];
    const pem = await finalizeAndDownload(c, await this.readyOrder(c, name), await csrFor(ids, keys));
    const stored = (
      await this.adminOk<{ certificates: { serial: string }[] }>('GET', `/certificates?identifier=${name}`)
    ).certificates;
    assert.equal(stored.length, 1);
    const serial = stored[0]!.serial;
    const inPem = new x509.X509Certificate(pem).serialNumber.toLowerCase();
    assert.equal(inPem.replace(/^0+/, ''), serial.replace(/^0+/, ''), 'the edge stored the issued serial');
    return { serial, pem };
  }

  /** The signer's current CRL, straight from it (the edge's /crl caches up to a minute). */
  async signerCrl(): Promise<Map<string, number | undefined>> {
    return crlEntries(await this.signerCrlDer());
  }

  /** serial → revocation date (ms) in the signer's current CRL. */
  async signerCrlDates(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const e of new x509.X509Crl(await this.signerCrlDer()).entries)
      out.set(crlSerial(e.serialNumber), e.revocationDate.getTime());
    return out;
  }

  private async signerCrlDer(): Promise<Uint8Array<ArrayBuffer>> {
    const res = await fetch(`${this.sys.signerUrl}/v1/crl`);
    assert.equal(res.status, 200);
    return new Uint8Array(await res.arrayBuffer());
  }
}

/** A serial as the CRL maps key it: lowercase hex, no leading zeros. */
export const crlSerial = (serial: string): string => serial.toLowerCase().replace(/^0+/, '');

/** serial (lowercase hex, no leading zeros) → CRL reason code, from a DER CRL. */
export function crlEntries(der: Uint8Array<ArrayBuffer>): Map<string, number | undefined> {
  const crl = new x509.X509Crl(der);
  const out = new Map<string, number | undefined>();
  for (const e of crl.entries) out.set(crlSerial(e.serialNumber), e.reason);
  return out;
}
