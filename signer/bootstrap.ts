// Bringing a CA into existence: keys generated inside the token (invariant 1 in docs/architecture.md), the
// root and intermediate certificates (or the intermediate's CSR for an offline root), importing
// the intermediate certificate an offline root signed, and the whole development setup under
// .edgeca/dev (SoftHSM token, or a token of another module given to it, CA, relay, validator and
// signer answer keys, the edge's HTTPS certificate, the signer's relay TLS certificate, the
// signer's config). The signer CLI calls these; they print nothing themselves.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  BasicConstraints,
  Certificate,
  id_ce_basicConstraints,
  id_ce_keyUsage,
  KeyUsage,
  KeyUsageFlags,
} from '@peculiar/asn1-x509';
import type { JWK } from 'jose';
import { b64uEncode, derToPem, pemToDers, randomToken } from '../shared/encoding.ts';
import { LEAF_KEY_TYPES } from '../shared/key-types.ts';
import type { CaKeyType } from './ca-signer.ts';
import type { LeafKeyType, SignerConfig } from './config.ts';
import { createSoftHsmToken, defaultSoftHsmModule } from './hsm/softhsm.ts';
import { type HsmToken, openToken } from './hsm/token.ts';
import { makeRelayTls } from './relay-tls.ts';
import { buildCaCertificate, buildCaCsr } from './x509/ca.ts';
import { sameKey } from './x509/common.ts';
import { createLeafBuilder, randomSerial } from './x509/leaf.ts';

export const ROOT_KEY_LABEL = 'edgeca-root';
export const ISSUER_KEY_LABEL = 'edgeca-intermediate';
export const DEV_TOKEN_LABEL = 'edgeca-dev';
export const DEFAULT_SIGNER_PORT = 14100;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function yearsLater(d: Date, years: number): Date {
  const out = new Date(d);
  out.setUTCFullYear(out.getUTCFullYear() + years);
  return out;
}

/** Writes a file that must not exist yet (a CA never overwrites its own certificates silently). */
export async function writeNew(path: string, data: string, mode = 0o644): Promise<void> {
  await writeFile(path, data, { flag: 'wx', mode });
}

/** Writes through a temporary file and a rename, so readers never see half a file. */
export async function writeAtomic(path: string, data: string, mode = 0o644): Promise<void> {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, data, { mode });
  await chmod(tmp, mode); // the umask may have narrowed or (for 0600 secrets) the file may pre-exist
  await rename(tmp, path);
}

export interface InitCaOptions {
  token: HsmToken;
  keyType: CaKeyType;
  rootSubject?: string;
  intermediateSubject?: string;
  mode: 'root-and-intermediate' | 'intermediate-csr';
  outDir: string;
}

export interface InitCaResult {
  rootCertFile?: string;
  issuerCertFile?: string;
  csrFile?: string;
}

/**
 * Generates the CA keys in the token ('edgeca-root' and 'edgeca-intermediate') and writes
 * root.pem + intermediate.pem (root 10 years, intermediate 5 years, pathLen 0), or, for a root
 * kept offline, only the intermediate key and intermediate.csr. Refuses to overwrite either.
 */
export async function initCa(opts: InitCaOptions): Promise<InitCaResult> {
  const outDir = resolve(opts.outDir);
  await mkdir(outDir, { recursive: true });
  const files = {
    root: join(outDir, 'root.pem'),
    issuer: join(outDir, 'intermediate.pem'),
    csr: join(outDir, 'intermediate.csr'),
  };
  const planned = opts.mode === 'root-and-intermediate' ? [files.root, files.issuer] : [files.csr];
  for (const f of planned)
    if (existsSync(f)) throw new Error(`${f} exists already; refusing to replace a CA file`);
  const intermediateSubject = opts.intermediateSubject ?? 'CN=edgeca Issuing CA';

  if (opts.mode === 'intermediate-csr') {
    await opts.token.generateKeyPair(ISSUER_KEY_LABEL, opts.keyType);
    const csr = await buildCaCsr({
      subject: intermediateSubject,
      signer: await opts.token.caSigner(ISSUER_KEY_LABEL),
    });
    await writeNew(files.csr, derToPem(csr, 'CERTIFICATE REQUEST'));
    return { csrFile: files.csr };
  }

  await opts.token.generateKeyPair(ROOT_KEY_LABEL, opts.keyType);
  await opts.token.generateKeyPair(ISSUER_KEY_LABEL, opts.keyType);
  const root = await opts.token.caSigner(ROOT_KEY_LABEL);
  const issuer = await opts.token.caSigner(ISSUER_KEY_LABEL);
  // Backdated an hour so that clocks a little behind ours accept the chain at once.
  const notBefore = new Date(Math.floor((Date.now() - HOUR) / 1000) * 1000);
  const rootDer = await buildCaCertificate({
    subject: opts.rootSubject ?? 'CN=edgeca Root CA',
    subjectSpki: root.spki,
    signer: root,
    notBefore,
    notAfter: yearsLater(notBefore, 10),
  });
  const issuerDer = await buildCaCertificate({
    subject: intermediateSubject,
    subjectSpki: issuer.spki,
    signer: root,
    issuerCertDer: rootDer,
    notBefore,
    notAfter: yearsLater(notBefore, 5),
    pathLen: 0,
  });
  await writeNew(files.root, derToPem(rootDer));
  await writeNew(files.issuer, derToPem(issuerDer));
  return { rootCertFile: files.root, issuerCertFile: files.issuer };
}

/**
 * Installs the intermediate certificate an offline root issued for the token key `keyLabel`:
 * checks it is a CA certificate (CA:TRUE, keyCertSign) for exactly that key, then writes it
 * (the first certificate of the PEM) to `<outDir>/intermediate.pem`. Returns that path.
 */
export async function importIssuerCert(opts: {
  token: HsmToken;
  keyLabel: string;
  certPem: string;
  outDir: string;
}): Promise<string> {
  const der = pemToDers(opts.certPem)[0];
  if (!der) throw new Error('no CERTIFICATE block in the PEM given');
  const spki = checkCaCertificate(der);
  if (!sameKey(spki, await opts.token.publicKeySpki(opts.keyLabel))) {
    throw new Error(
      `the certificate's public key is not the key "${opts.keyLabel}" in token "${opts.token.tokenLabel}"`,
    );
  }
  const outDir = resolve(opts.outDir);
  await mkdir(outDir, { recursive: true });
  const file = join(outDir, 'intermediate.pem');
  await writeAtomic(file, derToPem(der));
  return file;
}

/**
 * Checks that `der` is a CA certificate (CA:TRUE; keyCertSign when it has a keyUsage) and returns
 * its SubjectPublicKeyInfo; throws saying what is wrong.
 */
export function checkCaCertificate(der: Uint8Array): Uint8Array {
  let cert: Certificate;
  try {
    cert = AsnConvert.parse(der, Certificate);
  } catch (e) {
    throw new Error(`the PEM's first certificate cannot be decoded: ${(e as Error).message}`);
  }
  const ext = (id: string) => cert.tbsCertificate.extensions?.find((e) => e.extnID === id)?.extnValue.buffer;
  const bc = ext(id_ce_basicConstraints);
  const ku = ext(id_ce_keyUsage);
  if (!bc || !AsnConvert.parse(bc, BasicConstraints).cA)
    throw new Error('the certificate is not a CA certificate (no CA:TRUE)');
  if (ku && !(AsnConvert.parse(ku, KeyUsage).toNumber() & KeyUsageFlags.keyCertSign)) {
    throw new Error('the certificate does not allow keyCertSign');
  }
  return new Uint8Array(AsnConvert.serialize(cert.tbsCertificate.subjectPublicKeyInfo));
}

export interface DevInit {
  dir: string;
  signerConfigFile: string;
  rootCertFile: string;
  issuerCertFile: string;
  relayKeyFile: string;
  validatorKeyFile: string;
  /** the signer's answer signing key (private JWK) and its public half, which the edge pins */
  signerAnswerKeyFile: string;
  signerAnswerPublicKeyFile: string;
  /** the relay TLS CA the edge pins (EDGECA_SIGNER_CA_FILE), and the signer's certificate and key from it */
  signerTlsCaFile: string;
  signerTlsCertFile: string;
  signerTlsKeyFile: string;
  edgeTlsCertFile: string;
  edgeTlsKeyFile: string;
  /** the SoftHSM config, when the token is SoftHSM's */
  softhsmConf?: string;
  pkcs11Module: string;
  tokenLabel: string;
  pinFile: string;
}

/** File names under the development directory; signer.json is written last and marks completion. */
const DEV_FILES = {
  signerConfig: 'signer.json',
  root: 'root.pem',
  issuer: 'intermediate.pem',
  relayKey: 'relay-key.json',
  validatorKey: 'validator-key.json',
  answerKey: 'signer-answer-key.json',
  answerPublicKey: 'signer-answer-public.json',
  signerTlsCa: 'signer-tls-ca.pem',
  signerTlsCert: 'signer-tls-cert.pem',
  signerTlsKey: 'signer-tls-key.pem',
  edgeTlsCert: 'edge-tls-cert.pem',
  edgeTlsKey: 'edge-tls-key.pem',
  softhsmConf: 'softhsm2.conf',
  tokens: 'tokens',
  pin: 'hsm-pin',
  soPin: 'hsm-so-pin',
  endpoints: 'endpoints.json',
} as const;

const ALL_LEAF_KEYS: LeafKeyType[] = [...LEAF_KEY_TYPES];
const NINETY_DAYS_S = 90 * 86_400;

function devPaths(dir: string, cfg: Pick<SignerConfig, 'pkcs11'>): DevInit {
  const at = (f: string) => join(dir, f);
  return {
    dir,
    signerConfigFile: at(DEV_FILES.signerConfig),
    rootCertFile: at(DEV_FILES.root),
    issuerCertFile: at(DEV_FILES.issuer),
    relayKeyFile: at(DEV_FILES.relayKey),
    validatorKeyFile: at(DEV_FILES.validatorKey),
    signerAnswerKeyFile: at(DEV_FILES.answerKey),
    signerAnswerPublicKeyFile: at(DEV_FILES.answerPublicKey),
    signerTlsCaFile: at(DEV_FILES.signerTlsCa),
    signerTlsCertFile: at(DEV_FILES.signerTlsCert),
    signerTlsKeyFile: at(DEV_FILES.signerTlsKey),
    edgeTlsCertFile: at(DEV_FILES.edgeTlsCert),
    edgeTlsKeyFile: at(DEV_FILES.edgeTlsKey),
    ...(cfg.pkcs11.softhsmConf ? { softhsmConf: resolve(dir, cfg.pkcs11.softhsmConf) } : {}),
    pkcs11Module: cfg.pkcs11.module,
    tokenLabel: cfg.pkcs11.tokenLabel,
    pinFile: resolve(dir, cfg.pkcs11.pinFile ?? DEV_FILES.pin),
  };
}

/** A fresh ES256 key pair as JWKs (private and public) under a random kid with the given prefix. */
export function es256Jwk(kidPrefix: string): {
  privateJwk: JWK & { kid: string };
  publicJwk: JWK & { kid: string };
} {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = privateKey.export({ format: 'jwk' }) as JWK;
  const kid = `${kidPrefix}-${b64uEncode(randomBytes(9))}`;
  const privateJwk = { ...jwk, kid, alg: 'ES256', use: 'sig' };
  const { d: _d, ...publicJwk } = privateJwk;
  return { privateJwk, publicJwk };
}

/** An initialised token of any PKCS#11 module, for initDev to put the CA keys in instead of SoftHSM. */
export interface GivenToken {
  module: string;
  tokenLabel: string;
  /** the user PIN; written to the pin file (0600) the config names */
  pin: string;
  /** the module's environment (pkcs11.env), e.g. TPM2_PKCS11_TCTI and TPM2_PKCS11_STORE */
  env?: Record<string, string>;
}

/**
 * A new answer signing key for the signer (production: `edgeca signer answer-key`): the private
 * JWK written to `file` (mode 0600, never over an existing file), the public JWK returned for the
 * edge to pin (EDGECA_SIGNER_KEY). A software ES256 key: see docs/threat-model.md for why the CA
 * key is not used for this.
 */
export async function makeAnswerKeyFile(file: string): Promise<JWK & { kid: string }> {
  const answer = es256Jwk('signer');
  await writeFile(file, `${JSON.stringify(answer.privateJwk, null, 2)}\n`, { flag: 'wx', mode: 0o600 });
  return answer.publicJwk;
}

/**
 * The signer's answer key and relay TLS files in `dir`, each made only when missing (a
 * development directory from before they existed gets them on its next `init --dev`).
 */
async function ensureRelayFiles(dir: string): Promise<void> {
  const at = (f: string) => join(dir, f);
  if (!existsSync(at(DEV_FILES.answerKey)) || !existsSync(at(DEV_FILES.answerPublicKey))) {
    const answer = es256Jwk('signer');
    await writeAtomic(at(DEV_FILES.answerKey), `${JSON.stringify(answer.privateJwk, null, 2)}\n`, 0o600);
    await writeAtomic(at(DEV_FILES.answerPublicKey), `${JSON.stringify(answer.publicJwk, null, 2)}\n`);
  }
  const tlsFiles = [DEV_FILES.signerTlsCa, DEV_FILES.signerTlsCert, DEV_FILES.signerTlsKey];
  if (!tlsFiles.every((f) => existsSync(at(f)))) {
    const tls = await makeRelayTls({
      names: ['localhost', '127.0.0.1', '::1'],
      caName: 'edgeca Development Relay CA',
    });
    await writeAtomic(at(DEV_FILES.signerTlsKey), tls.keyPem, 0o600);
    await writeAtomic(at(DEV_FILES.signerTlsCert), tls.certPem);
    await writeAtomic(at(DEV_FILES.signerTlsCa), tls.caPem);
  }
}

/**
 * The whole development bootstrap in `dir` (e.g. .edgeca/dev), on a new SoftHSM token or on the
 * `token` given. Idempotent: when signer.json exists it returns the existing paths and changes
 * nothing but what an older run did not make (the answer key and relay TLS files); a run that
 * stopped half-way (no signer.json) is cleared of its own files and started again.
 */
export async function initDev(opts: {
  dir: string;
  keyType?: CaKeyType;
  signerPort?: number;
  crlUrl?: string;
  token?: GivenToken;
}): Promise<DevInit> {
  const dir = resolve(opts.dir);
  const at = (f: string) => join(dir, f);
  if (existsSync(at(DEV_FILES.signerConfig))) {
    const cfg = JSON.parse(await readFile(at(DEV_FILES.signerConfig), 'utf8')) as SignerConfig;
    await ensureRelayFiles(dir);
    if (!cfg.answerKeyFile) {
      cfg.answerKeyFile = DEV_FILES.answerKey;
      await writeAtomic(at(DEV_FILES.signerConfig), `${JSON.stringify(cfg, null, 2)}\n`);
    }
    return devPaths(dir, cfg);
  }
  for (const f of Object.values(DEV_FILES)) {
    if (f !== DEV_FILES.endpoints) await rm(at(f), { recursive: true, force: true });
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });

  const keyType = opts.keyType ?? 'EC-P256';
  const given = opts.token;
  const pin = given?.pin ?? randomToken(18);
  await writeAtomic(at(DEV_FILES.pin), `${pin}\n`, 0o600);
  let pkcs11: Pick<SignerConfig['pkcs11'], 'module' | 'tokenLabel' | 'softhsmConf' | 'env'>;
  let token: HsmToken;
  if (given) {
    pkcs11 = { module: given.module, tokenLabel: given.tokenLabel, ...(given.env ? { env: given.env } : {}) };
    token = await openToken({ ...pkcs11, pin, sessions: 1 });
  } else {
    const soPin = randomToken(18);
    await writeAtomic(at(DEV_FILES.soPin), `${soPin}\n`, 0o600);
    const hsm = await createSoftHsmToken({
      dir,
      label: DEV_TOKEN_LABEL,
      pin,
      soPin,
      module: defaultSoftHsmModule(),
    });
    pkcs11 = { module: hsm.module, tokenLabel: DEV_TOKEN_LABEL, softhsmConf: DEV_FILES.softhsmConf };
    token = await openToken({
      module: hsm.module,
      tokenLabel: DEV_TOKEN_LABEL,
      pin,
      softhsmConf: hsm.conf,
      sessions: 1,
    });
  }
  try {
    const suffix = randomBytes(3).toString('hex');
    const ca = await initCa({
      token,
      keyType,
      mode: 'root-and-intermediate',
      outDir: dir,
      rootSubject: `CN=edgeca Development Root ${suffix}, O=edgeca development`,
      intermediateSubject: `CN=edgeca Development Issuing CA ${suffix}, O=edgeca development`,
    });
    const issuerPem = await readFile(ca.issuerCertFile as string, 'utf8');
    const issuerDer = pemToDers(issuerPem)[0] as Uint8Array;

    // The edge's HTTPS certificate: a software key (the edge holds it), issued by the HSM intermediate.
    const tls = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const builder = createLeafBuilder({
      certDer: issuerDer,
      keyType,
      ...(opts.crlUrl ? { crlUrl: opts.crlUrl } : {}),
    });
    const notBefore = new Date(Math.floor((Date.now() - 5 * 60_000) / 1000) * 1000);
    const tbs = builder.buildTbs({
      serial: randomSerial(),
      spki: new Uint8Array(tls.publicKey.export({ type: 'spki', format: 'der' })),
      identifiers: [
        { type: 'dns', value: 'localhost' },
        { type: 'ip', value: '127.0.0.1' },
        { type: 'ip', value: '::1' },
      ],
      notBefore,
      notAfter: new Date(notBefore.getTime() + 90 * DAY),
      ekus: ['serverAuth'],
      leafKeyType: 'EC-P256',
    });
    const leaf = builder.assemble(tbs, await (await token.caSigner(ISSUER_KEY_LABEL)).sign(tbs));
    await writeAtomic(
      at(DEV_FILES.edgeTlsKey),
      tls.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
      0o600,
    );
    await writeAtomic(at(DEV_FILES.edgeTlsCert), derToPem(leaf) + derToPem(issuerDer));

    const relay = es256Jwk('edge');
    const validator = es256Jwk('validator');
    await writeAtomic(at(DEV_FILES.relayKey), `${JSON.stringify(relay.privateJwk, null, 2)}\n`, 0o600);
    await writeAtomic(
      at(DEV_FILES.validatorKey),
      `${JSON.stringify(validator.privateJwk, null, 2)}\n`,
      0o600,
    );
    await ensureRelayFiles(dir);

    const config: SignerConfig = {
      listen: { host: '127.0.0.1', port: opts.signerPort ?? DEFAULT_SIGNER_PORT },
      pkcs11: { ...pkcs11, pinFile: DEV_FILES.pin, keyLabel: ISSUER_KEY_LABEL, sessions: 4 },
      database: 'file:signer.db',
      ca: { keyType, issuerCertFile: DEV_FILES.issuer, rootCertFile: DEV_FILES.root },
      edgeKeys: [relay.publicJwk],
      answerKeyFile: DEV_FILES.answerKey,
      validatorKeyFile: DEV_FILES.validatorKey,
      ceiling: {
        dnsSuffixes: ['.'],
        ipRanges: ['0.0.0.0/0', '::/0'],
        maxLifetimeSeconds: NINETY_DAYS_S,
        keyTypes: ALL_LEAF_KEYS,
        allowWildcards: true,
        profiles: {
          default: { ekus: ['serverAuth', 'clientAuth'], maxLifetimeSeconds: NINETY_DAYS_S },
          tlsserver: { ekus: ['serverAuth'], maxLifetimeSeconds: NINETY_DAYS_S },
          tlsclient: { ekus: ['clientAuth'], maxLifetimeSeconds: NINETY_DAYS_S },
        },
      },
      urls: { crl: opts.crlUrl ?? 'http://127.0.0.1:14000/crl' },
      crl: { nextUpdateSeconds: 86_400, refreshSeconds: 3_600 },
    };
    const paths = devPaths(dir, config);

    // endpoints.json is npm start's: it writes it whole, once every service is up (from the paths
    // returned here), so nobody reads one that names the HSM and not yet the services.
    await writeAtomic(at(DEV_FILES.signerConfig), `${JSON.stringify(config, null, 2)}\n`);
    return paths;
  } finally {
    await token.close();
  }
}
