// `edgeca signer <command>`: token and CA bootstrap, key inspection, the service, CRL and audit
// checks. The PIN comes from the config (pinCredential/pinFile/pinEnv), never from argv.
import { readFileSync, writeFileSync } from 'node:fs';
import { parseCommandLine, runCommand, UsageError } from '../cli/args.ts';
import { derToPem, pemToDers } from '../shared/encoding.ts';
import type { CaKeyType } from './ca-signer.ts';
import { configPath, loadSignerConfig, startSigner } from './server.ts';
import { issuerId, readPin } from './service/tools.ts';
import { openConfiguredStore } from './store/configured.ts';
import type { SignerStore } from './store/store.ts';

type Opts = Record<string, { type: 'string' | 'boolean'; short?: string }>;
interface Command {
  summary: string;
  usage: string;
  options: Opts;
  run(v: Record<string, string | boolean | undefined>): Promise<number>;
}

const KEY_TYPES: readonly CaKeyType[] = ['EC-P256', 'EC-P384', 'RSA-3072', 'RSA-4096'];
const MODES = ['root-and-intermediate', 'intermediate-csr'] as const;
const help = { type: 'boolean', short: 'h' } as const;
const configOpt = { type: 'string', short: 'c' } as const;

const out = (s: string) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);

function need(v: Record<string, string | boolean | undefined>, name: string): string {
  const x = v[name];
  if (typeof x !== 'string' || x === '') throw new UsageError(`--${name} is required`);
  return x;
}

function keyType(v: Record<string, string | boolean | undefined>): CaKeyType | undefined {
  const k = v['key-type'];
  if (k === undefined) return undefined;
  if (!KEY_TYPES.includes(k as CaKeyType))
    throw new UsageError(`--key-type must be one of ${KEY_TYPES.join(', ')}`);
  return k as CaKeyType;
}

/** Opens the token named by the config (PIN from pinFile/pinEnv); the caller closes it. */
async function openConfiguredToken(configFile: string) {
  const { config, baseDir } = loadSignerConfig(configFile);
  // Literal specifiers throughout: `npm run build` compiles what they name.
  const { openToken, tokenOptionsFromConfig } = await import('./hsm/token.ts');
  const options = tokenOptionsFromConfig(config.pkcs11, baseDir, readPin(config, baseDir));
  const token = await openToken({ ...options, sessions: 1 });
  return { token, config, baseDir };
}

const COMMANDS: Record<string, Command> = {
  init: {
    summary: 'create the dev environment, or the CA key and certificate(s) in the token',
    usage:
      'init --dev [--dir .edgeca/dev] [--key-type EC-P256|EC-P384|RSA-3072|RSA-4096]\n' +
      '  init --config signer.json [--key-type ...] [--mode root-and-intermediate|intermediate-csr]',
    options: {
      dev: { type: 'boolean' },
      dir: { type: 'string' },
      config: configOpt,
      'key-type': { type: 'string' },
      mode: { type: 'string' },
      help,
    },
    async run(v) {
      const kt = keyType(v);
      const boot = await import('./bootstrap.ts');
      if (v.dev) {
        const made = await boot.initDev({
          dir: typeof v.dir === 'string' ? v.dir : '.edgeca/dev',
          ...(kt ? { keyType: kt } : {}),
        });
        out(JSON.stringify(made, null, 2));
        return 0;
      }
      const configFile = need(v, 'config');
      const mode = (v.mode ?? 'root-and-intermediate') as (typeof MODES)[number];
      if (!MODES.includes(mode)) throw new UsageError(`--mode must be one of ${MODES.join(', ')}`);
      const { token, config, baseDir } = await openConfiguredToken(configFile);
      try {
        const made = await boot.initCa({
          token,
          keyType: kt ?? config.ca.keyType,
          mode,
          outDir: baseDir,
        });
        out(JSON.stringify(made ?? { ok: true }, null, 2));
      } finally {
        await token.close();
      }
      return 0;
    },
  },
  'import-cert': {
    summary: 'install the issuing certificate signed by an offline root for the token key',
    usage: 'import-cert --config signer.json --cert intermediate.pem',
    options: { config: configOpt, cert: { type: 'string' }, help },
    async run(v) {
      const { readFileSync } = await import('node:fs');
      const certPem = readFileSync(need(v, 'cert'), 'utf8');
      const boot = await import('./bootstrap.ts');
      const { token, config, baseDir } = await openConfiguredToken(need(v, 'config'));
      try {
        const res = await boot.importIssuerCert({
          token,
          keyLabel: config.pkcs11.keyLabel,
          certPem,
          outDir: baseDir,
        });
        out(JSON.stringify(res ?? { ok: true }, null, 2));
      } finally {
        await token.close();
      }
      return 0;
    },
  },
  'key-info': {
    summary: "print the CA key's PKCS#11 attributes (proves it is sensitive and not extractable)",
    usage: 'key-info --config signer.json [--label L]',
    options: { config: configOpt, label: { type: 'string' }, help },
    async run(v) {
      const { token, config } = await openConfiguredToken(need(v, 'config'));
      try {
        const label = typeof v.label === 'string' ? v.label : config.pkcs11.keyLabel;
        out(JSON.stringify(await token.keyInfo(label), null, 2));
      } finally {
        await token.close();
      }
      return 0;
    },
  },
  'answer-key': {
    summary: "make the signer's answer signing key; prints the public key the edge pins",
    usage: 'answer-key --out signer-answer-key.json',
    options: { out: { type: 'string' }, help },
    async run(v) {
      const file = need(v, 'out');
      const boot = await import('./bootstrap.ts');
      let pub: Record<string, unknown>;
      try {
        pub = await boot.makeAnswerKeyFile(file);
      } catch (e) {
        if ((e as { code?: string }).code === 'EEXIST')
          throw new Error(
            `${file} exists already; a new key goes in a new file (the edge can pin both while keys roll)`,
          );
        throw e;
      }
      process.stderr.write(
        `wrote the private answer key to ${file} (mode 0600): set answerKeyFile to it in signer.json.\n` +
          'Pin this public key at the edge (EDGECA_SIGNER_KEY, or a file named by EDGECA_SIGNER_KEY_FILE):\n',
      );
      out(JSON.stringify(pub));
      return 0;
    },
  },
  serve: {
    summary: 'run the signer until SIGINT/SIGTERM',
    usage: 'serve --config signer.json',
    options: { config: configOpt, help },
    async run(v) {
      const running = await startSigner({ configFile: need(v, 'config') });
      await new Promise<void>((done) => {
        process.once('SIGINT', done);
        process.once('SIGTERM', done);
      });
      await running.close();
      return 0;
    },
  },
  crl: {
    summary: 'print the current CRL as PEM, or write its DER to --out',
    usage: 'crl --config signer.json [--out file.crl]',
    options: { config: configOpt, out: { type: 'string' }, help },
    async run(v) {
      const { store, issuer } = await openStore(need(v, 'config'));
      try {
        const row = await store.currentCrl(issuer());
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
    summary: 'check the audit log hash chain; exit 1 naming the first bad row',
    usage: 'audit-verify --config signer.json',
    options: { config: configOpt, help },
    async run(v) {
      const { store } = await openStore(need(v, 'config'));
      try {
        const r = await store.verifyAudit();
        out(JSON.stringify(r));
        if (!r.ok) process.stderr.write(`audit chain broken at row ${r.firstBadSeq}: ${r.reason}\n`);
        return r.ok ? 0 : 1;
      } finally {
        await store.close();
      }
    },
  },
};

/**
 * The store the config names, and the id of its configured issuer: `crl` needs it, `audit-verify`
 * only when an old store must first be migrated (the store then says so).
 */
async function openStore(configFile: string): Promise<{ store: SignerStore; issuer: () => string }> {
  const { config, baseDir } = loadSignerConfig(configFile);
  const issuerFile = configPath(baseDir, config.ca.issuerCertFile);
  let id: string | undefined;
  let problem = '';
  try {
    const [der] = pemToDers(readFileSync(issuerFile, 'utf8'));
    if (der) id = issuerId(der);
    else problem = 'it holds no PEM CERTIFICATE';
  } catch (e) {
    problem = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  }
  const store = await openConfiguredStore(config, baseDir, id ? { issuer: id } : {});
  return {
    store,
    issuer: () => {
      if (id) return id;
      throw new Error(`cannot read the issuer certificate ${issuerFile} (ca.issuerCertFile): ${problem}`);
    },
  };
}

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([k, c]) => `  ${k.padEnd(13)} ${c.summary}`);
  return `usage: edgeca signer <command> [options]   (--help after a command for its options)\n${lines.join('\n')}\n`;
}

export async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return 0;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    process.stderr.write(`edgeca signer: unknown command "${name}"\n${usage()}`);
    return 2;
  }
  return runCommand(`edgeca signer ${name}`, `usage: edgeca signer ${cmd.usage}`, async () => {
    const { values } = parseCommandLine(rest, cmd.options, { maxPositionals: 0 });
    if (values.help) {
      out(`usage: edgeca signer ${cmd.usage}\n${cmd.summary}`);
      return 0;
    }
    return cmd.run(values);
  });
}
