// The issuers this signer signs with, as the store records them (store/issuers.ts) and as far as
// this signer can reach their keys. Read at start, on SIGHUP and every issuers.refreshSeconds, so
// a rotation made by another process or on another machine is followed without a restart; a key
// made by another process is found in the token by its label on the next read.
//
// New orders go to the newest active issuer whose key type the profile asks for (any key type when
// it names none). An intent keeps the issuer it was recorded with, so a retry after a rotation
// returns, or completes, the certificate of the issuer it began with. Retiring issuers still sign
// their CRLs until their last certificate has expired.
import { createHash, X509Certificate } from 'node:crypto';
import { derToPem, pemToDers } from '../../shared/encoding.ts';
import { AcmeProblem } from '../../shared/problems.ts';
import type { CaKeyType, CaSigner } from '../ca-signer.ts';
import type { SignerConfig } from '../config.ts';
import type { IssuerRow, IssuerState, SignerStore } from '../store/store.ts';
import { chainsToRoots } from '../x509/anchor.ts';
import { caKeyTypeOfSpki, issuerFacts, sameKey } from '../x509/common.ts';
import type { CertTools } from './types.ts';

/** Seconds between two reads of the store's issuers unless the config says otherwise. */
export const DEFAULT_ISSUER_REFRESH_S = 30;

export interface LoadedIssuer {
  id: string;
  keyLabel: string;
  keyType: CaKeyType;
  state: IssuerState;
  activatedAt: number;
  certDer: Uint8Array;
  /** PEM of the issuer and the certificates above it, root excluded: appended to every leaf */
  chainPem: string;
  subject: string;
  /** hex subjectKeyIdentifier: the AKI of its leaves (what `renew-now --issuer` selects by) */
  keyId: string;
  notAfter: Date;
  /** the CRL distribution point its leaves name, if any */
  crlUrl: string | undefined;
  signer: CaSigner;
  tools: CertTools;
}

/** How this signer reaches issuer keys and builds an issuer's certificate tools. */
export interface IssuerKeys {
  /** the key labelled `label`; refused when it is not a `keyType` key */
  signerFor(label: string, keyType: CaKeyType): Promise<CaSigner>;
  toolsFor(issuer: {
    id: string;
    certDer: Uint8Array;
    keyType: CaKeyType;
    crlUrl: string | undefined;
  }): Promise<CertTools>;
}

/**
 * The issuer id the store files certificates and CRLs under: hex SHA-256 of the issuing
 * certificate's SubjectPublicKeyInfo (a renewed certificate for the same key keeps its id).
 */
export function issuerIdOf(certDer: Uint8Array): string {
  return createHash('sha256').update(issuerFacts(certDer).spki).digest('hex');
}

export function subjectOf(certDer: Uint8Array): string {
  return new X509Certificate(certDer).subject.replaceAll('\n', ', ');
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export class IssuerRegistry {
  private rows: IssuerRow[] = [];
  private readonly loaded = new Map<string, LoadedIssuer>();
  /** why an issuer is not usable here, logged once per reason */
  private readonly unusable = new Map<string, string>();
  private running: Promise<LoadedIssuer[]> | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly o: {
      store: SignerStore;
      keys: IssuerKeys;
      config: SignerConfig;
      log: (line: Record<string, unknown>) => void;
      /**
       * ca.rootCertFile's roots, read outside the store: an issuer whose certificate does not chain
       * to one is not used, whatever the store says (none configured: not checked)
       */
      roots?: Uint8Array[];
    },
  ) {}

  /**
   * Records signer.json's issuer (ca.issuerCertFile, pkcs11.keyLabel) in the store when the store
   * does not know it yet: active, beside any others. Once recorded the store's state wins: a
   * retiring issuer is never made active again because an old signer.json still names it.
   */
  async adopt(first: { certDer: Uint8Array; chainPem: string }): Promise<string> {
    const { config } = this.o;
    const id = issuerIdOf(first.certDer);
    const keyType = caKeyTypeOfSpki(issuerFacts(first.certDer).spki);
    if (keyType !== config.ca.keyType) {
      throw new Error(
        `the issuer certificate (ca.issuerCertFile) holds a ${keyType ?? 'unsupported'} key, not ca.keyType ${config.ca.keyType}`,
      );
    }
    const known = await this.o.store.issuers.get(id);
    if (!known) {
      await this.o.store.issuers.register(
        {
          id,
          keyLabel: config.pkcs11.keyLabel,
          keyType,
          state: 'active',
          certDer: first.certDer,
          chainPem: first.chainPem,
          crlUrl: null,
        },
        { id, keyLabel: config.pkcs11.keyLabel, subject: subjectOf(first.certDer), from: 'signer.json' },
      );
    } else if (known.certDer && !Buffer.from(known.certDer).equals(Buffer.from(first.certDer))) {
      this.o.log({ event: 'issuer-cert-differs', issuer: id, detail: 'the store keeps its own certificate' });
    }
    return id;
  }

  /** Reads the store's issuers again and loads the keys of new ones; returns those it loaded. */
  refresh(): Promise<LoadedIssuer[]> {
    this.running ??= this.refreshNow().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async refreshNow(): Promise<LoadedIssuer[]> {
    const rows = await this.o.store.issuers.list();
    this.rows = rows;
    const added: LoadedIssuer[] = [];
    for (const row of rows) {
      const inUse = row.state === 'active' || row.state === 'retiring';
      const have = this.loaded.get(row.id);
      if (!inUse || !row.certDer) {
        if (have) this.loaded.delete(row.id);
        continue;
      }
      if (have) {
        have.state = row.state;
        continue;
      }
      try {
        const issuer = await this.load(row, row.certDer);
        this.loaded.set(row.id, issuer);
        this.unusable.delete(row.id);
        added.push(issuer);
        this.o.log({ event: 'issuer-loaded', issuer: row.id, state: row.state, subject: issuer.subject });
      } catch (e) {
        const why = message(e);
        if (this.unusable.get(row.id) !== why)
          this.o.log({ event: 'issuer-unusable', issuer: row.id, keyLabel: row.keyLabel, error: why });
        this.unusable.set(row.id, why);
      }
    }
    return added;
  }

  private async load(row: IssuerRow, certDer: Uint8Array): Promise<LoadedIssuer> {
    const facts = issuerFacts(certDer);
    const roots = this.o.roots ?? [];
    if (roots.length > 0 && !chainsToRoots(certDer, pemToDers(row.chainPem), roots))
      throw new Error(`issuer ${row.id}'s certificate does not chain to the root (ca.rootCertFile)`);
    if (facts.notAfter.getTime() <= Date.now()) throw new Error(`issuer ${row.id}'s certificate has expired`);
    const signer = await this.o.keys.signerFor(row.keyLabel, row.keyType);
    if (!sameKey(signer.spki, facts.spki))
      throw new Error(`the token key "${row.keyLabel}" is not the key of issuer ${row.id}'s certificate`);
    const crlUrl = row.crlUrl ?? this.o.config.urls.crl;
    const tools = await this.o.keys.toolsFor({ id: row.id, certDer, keyType: row.keyType, crlUrl });
    return {
      id: row.id,
      keyLabel: row.keyLabel,
      keyType: row.keyType,
      state: row.state,
      activatedAt: row.activatedAt ?? row.createdAt,
      certDer,
      chainPem: derToPem(certDer) + row.chainPem,
      subject: subjectOf(certDer),
      keyId: Buffer.from(facts.keyId).toString('hex'),
      notAfter: facts.notAfter,
      crlUrl,
      signer,
      tools,
    };
  }

  /** The issuer a new order of `profile` is signed by; a 503 problem naming why when none is here. */
  forNewOrder(profile: string): LoadedIssuer {
    const wanted = this.o.config.ceiling.profiles[profile]?.issuerKeyType;
    const candidates = [...this.loaded.values()].filter(
      (i) => i.state === 'active' && (!wanted || i.keyType === wanted),
    );
    const newest = candidates.sort((a, b) => b.activatedAt - a.activatedAt || (a.id < b.id ? 1 : -1))[0];
    if (newest) return newest;
    const active = this.rows.filter((r) => r.state === 'active' && (!wanted || r.keyType === wanted));
    const why = active.map((r) => `${r.id} (${this.unusable.get(r.id) ?? 'not loaded yet'})`).join('; ');
    throw new AcmeProblem(
      'serviceUnavailable',
      `no active ${wanted ? `${wanted} ` : ''}issuer for profile "${profile}" is usable at this signer` +
        (why ? `: ${why}` : ''),
      { retryAfter: 30 },
    );
  }

  /** The issuer with this id, if this signer holds its key (active or retiring). */
  byId(id: string): LoadedIssuer | undefined {
    return this.loaded.get(id);
  }

  /** The store's record of an issuer, whatever its state and whether or not its key is here. */
  row(id: string): IssuerRow | undefined {
    return this.rows.find((r) => r.id === id);
  }

  /** The issuers whose CRLs this signer signs: active and retiring ones it holds. */
  held(): LoadedIssuer[] {
    return [...this.loaded.values()];
  }

  /** The newest active issuer this signer holds (health, checkpoints). */
  newestActive(): LoadedIssuer | undefined {
    return [...this.loaded.values()]
      .filter((i) => i.state === 'active')
      .sort((a, b) => b.activatedAt - a.activatedAt)[0];
  }

  /**
   * The issuer whose CRL the bare CRL URL serves: the first issuer, whose leaves name the config's
   * urls.crl itself; later issuers' leaves name <urls.crl>/<id>. Certificates issued before a
   * rotation keep finding their own issuer's CRL there.
   */
  defaultCrlIssuer(): string | undefined {
    const first = this.rows.find((r) => r.crlUrl === null && r.state !== 'pending');
    return first?.id ?? this.newestActive()?.id;
  }

  /** Every issuer the store knows, for GET /v1/issuers. */
  list(): (IssuerRow & { usableHere: boolean; unusableReason?: string })[] {
    return this.rows.map((r) => {
      const why = this.unusable.get(r.id);
      return { ...r, usableHere: this.loaded.has(r.id), ...(why ? { unusableReason: why } : {}) };
    });
  }

  /** Reads the store every `seconds`; `then` runs after each read that loaded something. */
  startTimer(seconds: number, then: (added: LoadedIssuer[]) => Promise<void>): void {
    this.timer = setInterval(() => {
      this.refresh()
        .then((added) => (added.length > 0 ? then(added) : undefined))
        .catch((e: unknown) => this.o.log({ event: 'issuer-refresh-failed', error: message(e) }));
    }, seconds * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }
}
