// `edgeca signer` commands for the CA key's lifecycle and the evidence it leaves: rotate (a new
// intermediate key in the token), import-cert (its certificate from an offline root), issuers
// (what the store knows), crl (an issuer's current CRL), audit-verify (the hash chain and its
// signed checkpoints), purge (the store's retention, now). Each prints JSON (crl: PEM) and says
// what to do next.
import { readFileSync, writeFileSync } from 'node:fs';
import { configPath } from '../onprem/config.ts';
import { derToPem, pemToDers } from '../shared/encoding.ts';
import { verifyAudit } from './audit-verify.ts';
import { checkCaCertificate, importIssuerCert } from './bootstrap.ts';
import {
  type Command,
  configOpt,
  help,
  KEY_TYPE_CHOICES,
  keyType,
  need,
  openConfiguredToken,
  openStore,
  out,
  UsageError,
  type Values,
} from './cli-common.ts';
import { installIssuerCert, ROTATE_MODES, type RotateMode, rotate } from './rotate.ts';
import { DEFAULT_ISSUER_REFRESH_S, subjectOf } from './service/issuers.ts';
import { StorePurger } from './service/retention.ts';
import { issuerFacts, sameKey } from './x509/common.ts';

const ISSUER_ID = /^[0-9a-f]{64}$/;

/** --replaces values: issuer ids as `edgeca signer issuers` lists them. */
function issuerIds(v: Values[string], name: string): string[] {
  const list = v === undefined ? [] : Array.isArray(v) ? v : [v];
  for (const id of list)
    if (typeof id !== 'string' || !ISSUER_ID.test(id))
      throw new UsageError(`--${name} must be an issuer id (64 hex digits, as edgeca signer issuers lists)`);
  return list as string[];
}

function readPemFile(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(
      `cannot read the ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
}

export const LIFECYCLE_COMMANDS: Record<string, Command> = {
  rotate: {
    summary:
      'make a new intermediate key in the token: a CSR for the offline root, or signed by the root in the token',
    usage:
      `rotate --config signer.json [--key-type ${KEY_TYPE_CHOICES}] [--mode intermediate-csr|online-root]\n` +
      '  [--label L] [--subject DN] [--crl-url URL] [--name-constraints] [--root root.pem] [--replaces ID ...]',
    options: {
      config: configOpt,
      'key-type': { type: 'string' },
      mode: { type: 'string' },
      label: { type: 'string' },
      subject: { type: 'string' },
      'crl-url': { type: 'string' },
      'name-constraints': { type: 'boolean' },
      root: { type: 'string' },
      replaces: { type: 'string', multiple: true },
      help,
    },
    async run(v) {
      const replaces = issuerIds(v.replaces, 'replaces');
      const mode = (v.mode ?? 'intermediate-csr') as string;
      if (!(ROTATE_MODES as readonly string[]).includes(mode))
        throw new UsageError(`--mode must be one of ${ROTATE_MODES.join(', ')}`);
      const kt = keyType(v);
      const configFile = need(v, 'config');
      const { store, config, baseDir } = await openStore(configFile);
      try {
        const { token } = await openConfiguredToken(configFile);
        try {
          const made = await rotate({
            token,
            store,
            config,
            baseDir,
            keyType: kt ?? config.ca.keyType,
            mode: mode as RotateMode,
            ...(typeof v.label === 'string' ? { label: v.label } : {}),
            ...(typeof v.subject === 'string' ? { subject: v.subject } : {}),
            ...(typeof v['crl-url'] === 'string' ? { crlUrl: v['crl-url'] } : {}),
            ...(v['name-constraints'] ? { nameConstraints: true } : {}),
            ...(typeof v.root === 'string' ? { rootCertFile: v.root } : {}),
            ...(replaces.length ? { replaces } : {}),
          });
          const next =
            made.state === 'pending'
              ? `have the offline root sign ${made.csrFile}, then: edgeca signer import-cert --config ${configFile} --cert <signed.pem> [--chain <above.pem>]`
              : `running signers use it within issuers.refreshSeconds (${config.issuers?.refreshSeconds ?? DEFAULT_ISSUER_REFRESH_S} s), or at once on SIGHUP`;
          out(JSON.stringify({ ...made, next }, null, 2));
        } finally {
          await token.close();
        }
      } finally {
        await store.close();
      }
      return 0;
    },
  },
  'import-cert': {
    summary:
      'install the certificate an offline root signed for a key in the token (activates a rotated issuer)',
    usage: 'import-cert --config signer.json --cert intermediate.pem [--chain above.pem] [--replaces ID ...]',
    options: {
      config: configOpt,
      cert: { type: 'string' },
      chain: { type: 'string' },
      replaces: { type: 'string', multiple: true },
      help,
    },
    async run(v) {
      const replaces = issuerIds(v.replaces, 'replaces');
      const certPem = readPemFile(need(v, 'cert'), 'certificate');
      const chainPem = typeof v.chain === 'string' ? readPemFile(v.chain, 'chain file') : '';
      const [der] = pemToDers(certPem);
      if (!der) throw new Error('no CERTIFICATE block in the PEM given');
      const spki = checkCaCertificate(der);
      const configFile = need(v, 'config');
      const { token, config, baseDir } = await openConfiguredToken(configFile);
      try {
        // signer.json's own key (init --mode intermediate-csr, before any signer ran): its file,
        // without touching the store, which may not exist yet.
        const first = await token.publicKeySpki(config.pkcs11.keyLabel).catch(() => undefined);
        if (first && sameKey(first, spki)) {
          const file = await importIssuerCert({
            token,
            keyLabel: config.pkcs11.keyLabel,
            certPem,
            outDir: baseDir,
          });
          out(JSON.stringify(file, null, 2));
          return 0;
        }
        // A key `rotate` made: the store's pending issuer gets its certificate and becomes active.
        const { store } = await openStore(configFile);
        try {
          const root = config.ca.rootCertFile
            ? pemToDers(
                readPemFile(
                  configPath(baseDir, config.ca.rootCertFile),
                  'root certificate (ca.rootCertFile)',
                ),
              )[0]
            : undefined;
          const above = pemToDers(chainPem)
            .map((d) => derToPem(d))
            .join('');
          const done = await installIssuerCert({
            token,
            store,
            config,
            baseDir,
            certDer: der,
            chainPem: above,
            replaces,
            ...(root ? { root } : {}),
          });
          out(JSON.stringify(done, null, 2));
        } finally {
          await store.close();
        }
      } finally {
        await token.close();
      }
      return 0;
    },
  },
  issuers: {
    summary: "list the store's issuers: state, key, certificates still unexpired, CRL",
    usage: 'issuers --config signer.json',
    options: { config: configOpt, help },
    async run(v) {
      const { store } = await openStore(need(v, 'config'));
      try {
        const list = [];
        for (const r of await store.issuers.list()) {
          const last = await store.issuers.lastNotAfter(r.id);
          const crl = await store.currentCrl(r.id);
          const facts = r.certDer ? issuerFacts(r.certDer) : undefined;
          list.push({
            id: r.id,
            state: r.state,
            keyLabel: r.keyLabel,
            keyType: r.keyType,
            ...(r.certDer && facts
              ? {
                  subject: subjectOf(r.certDer),
                  keyId: Buffer.from(facts.keyId).toString('hex'),
                  notAfter: facts.notAfter.toISOString(),
                }
              : {}),
            crlUrl: r.crlUrl ?? '(urls.crl)',
            crlNumber: crl ? String(crl.crlNumber) : null,
            lastCertificateExpires: last === null ? null : new Date(last).toISOString(),
            activatedAt: r.activatedAt === null ? null : new Date(r.activatedAt).toISOString(),
          });
        }
        out(JSON.stringify(list, null, 2));
      } finally {
        await store.close();
      }
      return 0;
    },
  },
  crl: {
    summary: "print an issuer's current CRL as PEM, or write its DER to --out",
    usage: 'crl --config signer.json [--issuer ID] [--out file.crl]',
    options: { config: configOpt, issuer: { type: 'string' }, out: { type: 'string' }, help },
    async run(v) {
      if (typeof v.issuer === 'string' && !ISSUER_ID.test(v.issuer))
        throw new UsageError(
          '--issuer must be an issuer id (64 hex digits, as `edgeca signer issuers` lists)',
        );
      const { store, issuer } = await openStore(need(v, 'config'));
      try {
        const id = typeof v.issuer === 'string' ? v.issuer : issuer();
        if (!(await store.issuers.get(id)) && typeof v.issuer === 'string')
          throw new Error(`no issuer ${id} in the store: see edgeca signer issuers`);
        const row = await store.currentCrl(id);
        if (!row) throw new Error('no CRL has been signed yet: start the signer (edgeca signer serve) first');
        if (typeof v.out === 'string') {
          writeFileSync(v.out, row.der);
          out(`wrote CRL number ${row.crlNumber} to ${v.out}`);
        } else {
          out(derToPem(new Uint8Array(row.der), 'X509 CRL'));
        }
      } finally {
        await store.close();
      }
      return 0;
    },
  },
  'audit-verify': {
    summary:
      'check the audit hash chain and its checkpoints signed in the HSM; exit 1 naming the first bad row',
    usage: 'audit-verify --config signer.json [--root root.pem] [--max-age SECONDS] [--allow-unsigned]',
    options: {
      config: configOpt,
      root: { type: 'string' },
      'max-age': { type: 'string' },
      'allow-unsigned': { type: 'boolean' },
      help,
    },
    async run(v) {
      const maxAge = typeof v['max-age'] === 'string' ? Number(v['max-age']) : undefined;
      if (maxAge !== undefined && !(Number.isInteger(maxAge) && maxAge > 0))
        throw new UsageError('--max-age must be a positive number of seconds');
      const { store, config, baseDir } = await openStore(need(v, 'config'));
      try {
        const rootFile =
          typeof v.root === 'string'
            ? v.root
            : config.ca.rootCertFile && configPath(baseDir, config.ca.rootCertFile);
        // Several roots may be given (one PEM bundle) when issuers of several roots share the store.
        const roots = rootFile ? pemToDers(readPemFile(rootFile, 'root certificate')) : [];
        // signer.json's issuer, if its file is there: a candidate beside the store's, still checked
        // against the root like every other.
        let first: Uint8Array[] = [];
        try {
          first = pemToDers(readFileSync(configPath(baseDir, config.ca.issuerCertFile), 'utf8'));
        } catch {
          // the store's issuers are the candidates
        }
        const r = await verifyAudit(store, {
          roots,
          extraIssuers: first.slice(0, 1),
          allowUnsigned: v['allow-unsigned'] === true,
          ...(maxAge !== undefined ? { maxAgeSeconds: maxAge } : {}),
        });
        out(JSON.stringify(r));
        if (!r.ok)
          process.stderr.write(
            `audit chain ${r.firstBadSeq !== undefined ? `broken at row ${r.firstBadSeq}` : 'not verified'}: ${r.reason}\n`,
          );
        return r.ok ? 0 : 1;
      } finally {
        await store.close();
      }
    },
  },
  purge: {
    summary:
      "purge the store now as running signers do on their timer (signer.json's retention, or the days given); prints what went",
    usage: 'purge --config signer.json [--issuance-days N] [--audit-days N]',
    options: {
      config: configOpt,
      'issuance-days': { type: 'string' },
      'audit-days': { type: 'string' },
      help,
    },
    async run(v) {
      const days = (name: 'issuance-days' | 'audit-days'): number | undefined => {
        const raw = v[name];
        if (typeof raw !== 'string') return undefined;
        const n = Number(raw);
        if (!Number.isInteger(n) || n < 0)
          throw new UsageError(`--${name} must be a whole number of days (0 or more)`);
        return n;
      };
      const { store, config } = await openStore(need(v, 'config'));
      try {
        const issuanceDays = days('issuance-days');
        const auditDays = days('audit-days');
        const retention = {
          ...config.retention,
          ...(issuanceDays !== undefined ? { issuanceDays } : {}),
          ...(auditDays !== undefined ? { auditDays } : {}),
        };
        let failure: string | undefined;
        const purger = new StorePurger({
          store,
          config: { retention },
          log: (l) => {
            if (l.event === 'purge-failed') failure = String(l.error);
          },
        });
        const total = { issuance: 0, audit_log: 0 };
        let last: Awaited<ReturnType<StorePurger['run']>>;
        let anchoredAt: number | undefined;
        // bounded runs, each bounded in time, until one finishes what is due
        for (let i = 0; i < 1000; i++) {
          last = await purger.run({ budgetMs: 10_000 });
          if (!last) throw new Error(`the purge failed: ${failure ?? 'see the log'}`);
          total.issuance += last.issuance;
          total.audit_log += last.audit;
          anchoredAt = last.anchoredAt ?? anchoredAt;
          if (!last.unfinished) break;
        }
        out(
          JSON.stringify({
            purged: total,
            ...(anchoredAt !== undefined ? { auditAnchoredAt: anchoredAt } : {}),
            ...(last?.auditRefused ? { auditRefused: last.auditRefused } : {}),
          }),
        );
        return last?.auditRefused ? 1 : 0;
      } finally {
        await store.close();
      }
    },
  },
};
