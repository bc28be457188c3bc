// The issuers table: every issuing CA the signers sharing this store know, with its state, so a
// rotation made on one machine reaches every signer (each reads this table at start, on SIGHUP and
// every issuers.refreshSeconds). States move one way only:
//   pending  → active    `rotate` made the key; its certificate was installed and checked
//   active   → retiring  a newer issuer of the same key type became active: no new orders, but it
//                        keeps signing its CRL while any certificate it issued is unexpired
//   retiring → retired   its last certificate expired: its CRL is no longer signed
// Every change is guarded by the state it leaves and commits with its audit row.
import type { CaKeyType } from '../ca-signer.ts';
import type { AuditWriter } from './audit.ts';
import { bytesOf, type Engine, intOf, intOrNull } from './sql.ts';

export type IssuerState = 'pending' | 'active' | 'retiring' | 'retired';

export interface IssuerRow {
  /** hex SHA-256 of the issuer certificate's SubjectPublicKeyInfo (the issuance rows' `issuer`) */
  id: string;
  /** the key's CKA_LABEL in the token */
  keyLabel: string;
  keyType: CaKeyType;
  state: IssuerState;
  /** the issuer's certificate; null while pending */
  certDer: Uint8Array | null;
  /** PEM of the certificates above it, root excluded ('' when the root issued it) */
  chainPem: string;
  /** the CRL distribution point its leaves name; null: the config's urls.crl (the first issuer) */
  crlUrl: string | null;
  /** the database clock, ms */
  createdAt: number;
  activatedAt: number | null;
  retiredAt: number | null;
}

export interface NewIssuer {
  id: string;
  keyLabel: string;
  keyType: CaKeyType;
  state: 'pending' | 'active';
  certDer?: Uint8Array;
  chainPem: string;
  crlUrl: string | null;
}

const COLUMNS = `id, key_label AS "keyLabel", key_type AS "keyType", state, cert_der AS "certDer",
  chain_pem AS "chainPem", crl_url AS "crlUrl", created_at AS "createdAt",
  activated_at AS "activatedAt", retired_at AS "retiredAt"`;

type Raw = { [K in keyof IssuerRow]: unknown };

function issuerRow(r: Raw): IssuerRow {
  return {
    id: String(r.id),
    keyLabel: String(r.keyLabel),
    keyType: String(r.keyType) as CaKeyType,
    state: String(r.state) as IssuerState,
    certDer: r.certDer === null || r.certDer === undefined ? null : bytesOf(r.certDer),
    chainPem: String(r.chainPem),
    crlUrl: r.crlUrl === null || r.crlUrl === undefined ? null : String(r.crlUrl),
    createdAt: intOf(r.createdAt),
    activatedAt: intOrNull(r.activatedAt),
    retiredAt: intOrNull(r.retiredAt),
  };
}

export class IssuerTable {
  constructor(
    private readonly engine: Engine,
    private readonly audit: AuditWriter,
  ) {}

  /** Every issuer, oldest first. */
  async list(): Promise<IssuerRow[]> {
    const rows = await this.engine.all<Raw>(`SELECT ${COLUMNS} FROM issuers ORDER BY created_at, id`);
    return rows.map(issuerRow);
  }

  async get(id: string): Promise<IssuerRow | undefined> {
    const [r] = await this.engine.all<Raw>(`SELECT ${COLUMNS} FROM issuers WHERE id = ?`, [id]);
    return r && issuerRow(r);
  }

  /** Records a new issuer (pending, or active when it comes with its certificate); false if known. */
  async register(i: NewIssuer, details: Record<string, unknown>): Promise<boolean> {
    if (i.state === 'active' && !i.certDer) throw new TypeError('an active issuer needs its certificate');
    const d = this.engine.dialect;
    const r = await this.audit.append('issuer', { action: 'register', state: i.state, ...details }, (tx) =>
      tx.run(
        `INSERT INTO issuers (id, key_label, key_type, state, cert_der, chain_pem, crl_url, created_at,
           activated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ${d.nowMs}, ${i.state === 'active' ? d.nowMs : 'NULL'})
         ON CONFLICT DO NOTHING`,
        [i.id, i.keyLabel, i.keyType, i.state, i.certDer ?? null, i.chainPem, i.crlUrl],
      ),
    );
    return r.applied;
  }

  /**
   * Installs a pending issuer's certificate and makes it active; the issuers of the same key type
   * that were active become retiring, and so do the active ones named in `replaces` (a change of
   * key type), in the same transaction (with its audit row): new orders move to the new issuer at
   * once, and a failure leaves everything as it was. Returns the ids it retired, or undefined when
   * the issuer was not pending (nothing changed).
   */
  async activate(
    id: string,
    certDer: Uint8Array,
    chainPem: string,
    details: Record<string, unknown>,
    replaces: readonly string[] = [],
  ): Promise<string[] | undefined> {
    const d = this.engine.dialect;
    const audited: Record<string, unknown> = { action: 'activate', ...details };
    let retired: string[] = [];
    const r = await this.audit.append('issuer', audited, async (tx) => {
      const [row] = await tx.all<{ keyType: string }>(
        `SELECT key_type AS "keyType" FROM issuers WHERE id = ? AND state = 'pending'${d.forUpdate}`,
        [id],
      );
      if (!row) return 0;
      const named = replaces.filter((r) => r !== id);
      retired = (
        await tx.all<{ id: string }>(
          `SELECT id FROM issuers WHERE state = 'active' AND id <> ?
             AND (key_type = ?${named.map(() => ' OR id = ?').join('')}) ORDER BY id${d.forUpdate}`,
          [id, row.keyType, ...named],
        )
      ).map((x) => String(x.id));
      const n = await tx.run(
        `UPDATE issuers SET state = 'active', cert_der = ?, chain_pem = ?, activated_at = ${d.nowMs}
         WHERE id = ? AND state = 'pending'`,
        [certDer, chainPem, id],
      );
      for (const old of retired)
        await tx.run(`UPDATE issuers SET state = 'retiring' WHERE id = ? AND state = 'active'`, [old]);
      // The audit row is written after this change in the same transaction: it names what was retired.
      audited.retired = retired;
      return n;
    });
    return r.applied ? retired : undefined;
  }

  /**
   * A retiring issuer whose certificates have all expired (or were never issued) becomes retired,
   * so its CRL is no longer signed; false while any certificate it issued is unexpired.
   */
  async retireIfDone(id: string, nowMs: number): Promise<boolean> {
    const d = this.engine.dialect;
    const r = await this.audit.append('issuer', { action: 'retire', id }, (tx) =>
      tx.run(
        `UPDATE issuers SET state = 'retired', retired_at = ${d.nowMs}
         WHERE id = ? AND state = 'retiring'
           AND NOT EXISTS (SELECT 1 FROM issuance WHERE issuer = ? AND not_after > ?)`,
        [id, id, nowMs],
      ),
    );
    return r.applied;
  }

  /** When the last certificate the issuer signed (or has an intent for) expires; null: none. */
  async lastNotAfter(id: string): Promise<number | null> {
    const [r] = await this.engine.all<{ n: unknown }>(
      'SELECT MAX(not_after) AS n FROM issuance WHERE issuer = ?',
      [id],
    );
    return intOrNull(r?.n);
  }
}
