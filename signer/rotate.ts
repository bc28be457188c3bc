// CA key rotation without downtime (docs/ha.md, "Rotate the CA key"). `rotate` makes a new
// intermediate key inside the token (same templates as init: sensitive, never extractable) and
// records it in the store as a pending issuer; its certificate comes from an offline root (a CSR
// now, `import-cert` later) or, for development, from the root key in the token. Installing the
// certificate checks it against the key and activates the issuer in one transaction that also
// retires the issuer of the same key type it replaces; running signers follow from the store.
//
// A rotation that fails anywhere leaves the issuer in use active: before the key exists nothing is
// written; after, the new issuer stays pending (unused) until a certificate for its key is
// installed, and the activation either commits whole or not at all.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { derToPem, pemToDers } from '../shared/encoding.ts';
import { checkCaCertificate, ROOT_KEY_LABEL, writeAtomic, writeNew } from './bootstrap.ts';
import type { CaKeyType } from './ca-signer.ts';
import type { SignerConfig } from './config.ts';
import type { HsmToken } from './hsm/token.ts';
import { writeCheckpoint } from './service/checkpoints.ts';
import { subjectOf } from './service/issuers.ts';
import type { SignerStore } from './store/store.ts';
import { chainsToRoots } from './x509/anchor.ts';
import { buildCaCertificate, buildCaCsr } from './x509/ca.ts';
import { issuerFacts, sameKey } from './x509/common.ts';
import { constraintsFromCeiling, nameConstraintsExtension } from './x509/name-constraints.ts';

export type RotateMode = 'intermediate-csr' | 'online-root';
export const ROTATE_MODES: readonly RotateMode[] = ['intermediate-csr', 'online-root'];

const HOUR = 3_600_000;
/** An online-root intermediate lives 5 years, as init makes it, or as long as the root if shorter. */
const INTERMEDIATE_YEARS = 5;

export interface RotateOptions {
  token: HsmToken;
  store: SignerStore;
  config: SignerConfig;
  baseDir: string;
  keyType: CaKeyType;
  mode: RotateMode;
  /** the new key's label (default edgeca-intermediate-<UTC time>) */
  label?: string;
  /** the new intermediate's subject (default `CN=edgeca Issuing CA <UTC time>`) */
  subject?: string;
  /** the CRL distribution point of its leaves (default <urls.crl>/<issuer id>) */
  crlUrl?: string;
  /** online-root: a critical NameConstraints extension derived from the ceiling */
  nameConstraints?: boolean;
  /** online-root: the root certificate (default ca.rootCertFile) */
  rootCertFile?: string;
  /** online-root: active issuers of another key type the new one replaces (retired with it) */
  replaces?: string[];
  now?: Date;
}

export interface RotateResult {
  id: string;
  keyLabel: string;
  state: 'pending' | 'active';
  subject?: string;
  csrFile?: string;
  certFile?: string;
  /** the issuers the new one replaced (now retiring) */
  retired?: string[];
  /** the checkpoint signed at the rotation, or why none could be */
  checkpoint?: number | string;
}

const stamp = (d: Date) =>
  d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');

export const issuerIdOfSpki = (spki: Uint8Array): string => createHash('sha256').update(spki).digest('hex');

function resolvePath(baseDir: string, p: string): string {
  return p.startsWith('/') ? p : join(baseDir, p);
}

function readCert(file: string, what: string): Uint8Array {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(
      `cannot read the ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  const [der] = pemToDers(text);
  if (!der) throw new Error(`the ${what} ${file} holds no PEM CERTIFICATE`);
  return der;
}

export async function rotate(o: RotateOptions): Promise<RotateResult> {
  const now = o.now ?? new Date();
  const label = o.label ?? `edgeca-intermediate-${stamp(now)}`;
  const subject = o.subject ?? `CN=edgeca Issuing CA ${stamp(now)}`;
  // Everything that can be checked is checked before the key exists: a refusal leaves no trace.
  let root: { der: Uint8Array; signer: Awaited<ReturnType<HsmToken['caSigner']>> } | undefined;
  if (o.mode === 'online-root') {
    const file =
      o.rootCertFile ?? (o.config.ca.rootCertFile && resolvePath(o.baseDir, o.config.ca.rootCertFile));
    if (!file) throw new Error('online-root needs the root certificate: set ca.rootCertFile or give --root');
    const der = readCert(file, 'root certificate');
    const rootLabel = o.config.pkcs11.rootKeyLabel ?? ROOT_KEY_LABEL;
    const signer = await o.token.caSigner(rootLabel);
    if (!sameKey(signer.spki, issuerFacts(der).spki))
      throw new Error(`the token key "${rootLabel}" is not the key of the root certificate ${file}`);
    root = { der, signer };
  } else if (o.nameConstraints) {
    throw new Error(
      '--name-constraints applies to online-root; an offline root puts them in the certificate it signs',
    );
  }
  const constraints = o.nameConstraints
    ? nameConstraintsExtension(constraintsFromCeiling(o.config.ceiling))
    : undefined;

  await o.token.generateKeyPair(label, o.keyType);
  const signer = await o.token.caSigner(label);
  const id = issuerIdOfSpki(signer.spki);
  const crlUrl = o.crlUrl ?? (o.config.urls.crl ? `${o.config.urls.crl.replace(/\/+$/, '')}/${id}` : null);
  try {
    await o.store.issuers.register(
      { id, keyLabel: label, keyType: o.keyType, state: 'pending', chainPem: '', crlUrl },
      { id, keyLabel: label, mode: o.mode, subject },
    );
  } catch (e) {
    throw new Error(
      `the key "${label}" was made in the token but could not be recorded in the store (${(e as Error).message}); ` +
        'the issuer in use stays active; run rotate again (the unrecorded key is never used)',
    );
  }

  if (!root) {
    const csr = await buildCaCsr({ subject, signer });
    const csrFile = join(o.baseDir, `${label}.csr`);
    await writeNew(csrFile, derToPem(csr, 'CERTIFICATE REQUEST'));
    return { id, keyLabel: label, state: 'pending', subject, csrFile };
  }

  let certDer: Uint8Array;
  try {
    const rootNotAfter = issuerFacts(root.der).notAfter;
    const notBefore = new Date(Math.floor((now.getTime() - HOUR) / 1000) * 1000);
    const fiveYears = new Date(notBefore);
    fiveYears.setUTCFullYear(fiveYears.getUTCFullYear() + INTERMEDIATE_YEARS);
    certDer = await buildCaCertificate({
      subject,
      subjectSpki: signer.spki,
      signer: root.signer,
      issuerCertDer: root.der,
      notBefore,
      notAfter: fiveYears < rootNotAfter ? fiveYears : rootNotAfter,
      pathLen: 0,
      ...(constraints ? { nameConstraints: constraints } : {}),
    });
  } catch (e) {
    throw new Error(
      `issuer ${id} stays pending and the issuer in use stays active: its certificate could not be made (${(e as Error).message})`,
    );
  }
  const installed = await installIssuerCert({
    ...o,
    certDer,
    chainPem: '',
    root: root.der,
    ...(o.replaces ? { replaces: o.replaces } : {}),
  });
  return { ...installed, subject };
}

export interface InstallOptions {
  token: HsmToken;
  store: SignerStore;
  config: SignerConfig;
  baseDir: string;
  certDer: Uint8Array;
  /** PEM of the certificates between it and the root (root excluded) */
  chainPem: string;
  /** the root, when known: the certificate must chain to it */
  root?: Uint8Array;
  /** active issuers of another key type the new one replaces (retired with it) */
  replaces?: string[];
}

/** Every issuer named to be replaced must be one the store knows (a typo retires nothing). */
async function checkReplaces(store: SignerStore, ids: readonly string[]): Promise<void> {
  for (const r of ids) {
    const row = await store.issuers.get(r);
    if (!row) throw new Error(`--replaces: no issuer ${r} in the store (see edgeca signer issuers)`);
    if (row.state !== 'active') throw new Error(`--replaces: issuer ${r} is ${row.state}, not active`);
  }
}

/**
 * Installs the certificate of a pending issuer: a CA certificate for exactly the key `rotate`
 * made (and chaining to the root when one is given), then activates it. Throws with the store
 * unchanged when anything does not match.
 */
export async function installIssuerCert(o: InstallOptions): Promise<RotateResult> {
  const spki = checkCaCertificate(o.certDer);
  const id = issuerIdOfSpki(issuerFacts(o.certDer).spki);
  const row = await o.store.issuers.get(id);
  if (!row) {
    throw new Error(
      `no issuer in the store has this certificate's key (issuer id ${id}): run \`edgeca signer rotate\` first, and install the certificate signed for its CSR`,
    );
  }
  if (row.state !== 'pending')
    throw new Error(`issuer ${id} is ${row.state} already; only a pending issuer gets its certificate here`);
  if (!sameKey(spki, await o.token.publicKeySpki(row.keyLabel))) {
    throw new Error(`the certificate's key is not the token key "${row.keyLabel}" of issuer ${id}`);
  }
  if (issuerFacts(o.certDer).notAfter.getTime() <= Date.now())
    throw new Error(`the certificate for issuer ${id} has expired`);
  if (o.root && !chainsToRoots(o.certDer, pemToDers(o.chainPem), [o.root])) {
    throw new Error(
      `the certificate for issuer ${id} does not chain to the root certificate (give its chain with --chain)`,
    );
  }
  await checkReplaces(o.store, o.replaces ?? []);
  const retired = await o.store.issuers.activate(
    id,
    o.certDer,
    o.chainPem,
    { id, subject: subjectOf(o.certDer) },
    o.replaces ?? [],
  );
  if (!retired) throw new Error(`issuer ${id} was activated by another process meanwhile`);
  const certFile = join(o.baseDir, `${row.keyLabel}.pem`);
  await writeAtomic(certFile, derToPem(o.certDer) + o.chainPem);
  // The rotation is a checkpoint of the audit chain, signed by the new key.
  let checkpoint: number | string;
  try {
    const cp = await writeCheckpoint(o.store, { id, signer: await o.token.caSigner(row.keyLabel) });
    checkpoint = cp?.seq ?? 'the audit chain is empty';
  } catch (e) {
    checkpoint = `not written (${(e as Error).message}); running signers write one when they follow the rotation`;
  }
  return { id, keyLabel: row.keyLabel, state: 'active', certFile, retired, checkpoint };
}
