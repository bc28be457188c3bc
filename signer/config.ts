// The signer's own configuration file (JSON). Deployment settings only: where the HSM is, which
// edge keys are pinned, the ceiling no edge request may exceed. Paths are resolved relative to
// the directory of the config file. What the validator reads from it too (listen, edgeKeys,
// validatorKeyFile, the ceiling's names and ranges) is onprem/config.ts's SharedOnpremConfig.
import type { NameScope, SharedOnpremConfig } from '../onprem/config.ts';
import type { LeafKeyType } from '../shared/key-types.ts';
import type { CaKeyType } from './ca-signer.ts';

export type { LeafKeyType };
export type Eku = 'serverAuth' | 'clientAuth';

export interface CeilingProfile {
  /** extended key usages this profile puts in certificates */
  ekus: Eku[];
  /** longest validity this profile may be asked for, seconds */
  maxLifetimeSeconds: number;
  /**
   * the key type of the issuer that signs this profile's certificates when issuers of several key
   * types are active (e.g. an EC and an RSA intermediate); absent: the newest active issuer
   */
  issuerKeyType?: CaKeyType;
}

/** Names, addresses and wildcards (NameScope), and what certificates for them may be. */
export interface Ceiling extends NameScope {
  /** absolute maximum validity for any certificate, seconds */
  maxLifetimeSeconds: number;
  /** leaf key types accepted in CSRs */
  keyTypes: LeafKeyType[];
  /** profiles an edge may ask for, by name */
  profiles: Record<string, CeilingProfile>;
}

export interface SignerConfig extends SharedOnpremConfig {
  pkcs11: {
    module: string;
    tokenLabel: string;
    /**
     * Where the user PIN comes from, one of: pinCredential, the name of a systemd credential read
     * from $CREDENTIALS_DIRECTORY/<name> (`LoadCredential=` in the unit; signer/credentials.ts);
     * pinFile, a file holding it (mode 0600); pinEnv, the name of an environment variable.
     */
    pinCredential?: string;
    pinFile?: string;
    pinEnv?: string;
    /**
     * label of the first issuing (intermediate) CA key in the token. The signer records it in its
     * store as an issuer on first start; issuers made later by `edgeca signer rotate` live in the
     * store only (docs/ha.md, "Rotate the CA key").
     */
    keyLabel: string;
    /** label of the root key, for `rotate --mode online-root` (development): default edgeca-root */
    rootKeyLabel?: string;
    /** logged-in sessions in the signing pool (never more than the token allows) */
    sessions: number;
    /** longest wait for a free session before a signing request gets 503 + Retry-After (ms, default 5000) */
    queueTimeoutMs?: number;
    /** set SOFTHSM2_CONF to this before loading the module (development/tests) */
    softhsmConf?: string;
    /**
     * environment variables set before the module is initialised, for modules configured that
     * way (tpm2-pkcs11: TPM2_PKCS11_TCTI, TPM2_PKCS11_STORE; see docs/hsm.md). Never the PIN.
     */
    env?: Record<string, string>;
  };
  /**
   * The signer's store (issuance record, relay jti, CRL state, audit log): a libSQL URL such as
   * file:signer.db (one machine), or postgres://user@host1:5432,host2:5432/edgeca, which any number
   * of signers may share. Never with a password in it: see databasePasswordFile.
   */
  database: string;
  /**
   * File (mode 0600) holding the PostgreSQL password; or set EDGECA_SIGNER_DATABASE_PASSWORD.
   * Relative to the config file.
   */
  databasePasswordFile?: string;
  /**
   * Or the name of the systemd credential holding it, read from $CREDENTIALS_DIRECTORY/<name>
   * (`LoadCredential=` in the unit; signer/credentials.ts). One of the three at most.
   */
  databasePasswordCredential?: string;
  ca: {
    /** the key type of the first issuer, and of new issuers `rotate` makes unless told otherwise */
    keyType: CaKeyType;
    /** the first issuing CA certificate (PEM), for the key pkcs11.keyLabel */
    issuerCertFile: string;
    /** further chain certificates above the issuer, excluding the root (PEM, may be absent) */
    chainFile?: string;
    /**
     * the root (PEM): never sent in chains; the trust anchor `audit-verify` checks signed audit
     * checkpoints against, and the issuer of `rotate --mode online-root`
     */
    rootCertFile?: string;
  };
  /** how often a running signer reads the store's issuers, to follow a rotation made elsewhere */
  issuers?: { refreshSeconds?: number };
  /**
   * signed checkpoints of the audit chain's head: one at least every checkpointSeconds (default
   * 300) or every checkpointRows rows (default 1000), whichever comes first, and one at every
   * rotation
   */
  audit?: { checkpointSeconds?: number; checkpointRows?: number };
  /**
   * the purge of expired rows (store/retention.ts), every intervalSeconds (default 300; 0: never):
   * issuance rows issuanceDays past the certificate's notAfter (default 90), audit rows up to a
   * signed checkpoint older than auditDays (default 365; null: audit rows are kept forever)
   */
  retention?: { issuanceDays?: number; auditDays?: number | null; intervalSeconds?: number };
  /**
   * the signer's answer signing key (private JWK, ES256 or EdDSA, with kid; file mode 0600): it
   * signs the answers to sign and revoke, and the edge pins its public half (EDGECA_SIGNER_KEY).
   * Not the CA key: a software key is enough, see docs/threat-model.md.
   */
  answerKeyFile: string;
  ceiling: Ceiling;
  /**
   * URLs put in issued certificates. crl is the CRL distribution point of the first issuer; an
   * issuer made by `rotate` gets <crl>/<issuer id> unless it was given its own.
   */
  urls: { crl?: string; caIssuers?: string };
  crl: { nextUpdateSeconds: number; refreshSeconds: number };
}
