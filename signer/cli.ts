// `edgeca signer <command>`: token and CA bootstrap, key inspection, the service; the CA key's
// lifecycle (rotate, import-cert, issuers, crl, audit-verify) is in lifecycle-cli.ts. The PIN comes
// from the config (pinCredential/pinFile/pinEnv), never from argv.
import { parseCommandLine, runCommand } from '../cli/args.ts';
import { settingsHelp } from '../shared/settings-docs.ts';
import {
  type Command,
  configOpt,
  help,
  KEY_TYPE_CHOICES,
  keyType,
  need,
  openConfiguredToken,
  out,
  UsageError,
} from './cli-common.ts';
import { LIFECYCLE_COMMANDS } from './lifecycle-cli.ts';
import { startSigner } from './server.ts';
import { SIGNER_SETTING_ROWS } from './settings.ts';

const MODES = ['root-and-intermediate', 'intermediate-csr'] as const;

const COMMANDS: Record<string, Command> = {
  init: {
    summary: 'create the dev environment, or the CA key and certificate(s) in the token',
    usage:
      `init --dev [--dir .edgeca/dev] [--key-type ${KEY_TYPE_CHOICES}]\n` +
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
          mode: mode as (typeof MODES)[number],
          outDir: baseDir,
        });
        out(JSON.stringify(made ?? { ok: true }, null, 2));
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
    summary: 'run the signer until SIGINT/SIGTERM (SIGHUP: follow a CA key rotation now)',
    usage: 'serve --config signer.json',
    options: { config: configOpt, help },
    async run(v) {
      const running = await startSigner({ configFile: need(v, 'config') });
      // SIGHUP: read the store's issuers now (a rotation), as the timer does every refreshSeconds.
      const reload = () =>
        void running
          .reload()
          .catch((e: unknown) =>
            process.stdout.write(`${JSON.stringify({ event: 'issuer-refresh-failed', error: String(e) })}\n`),
          );
      process.on('SIGHUP', reload);
      await new Promise<void>((done) => {
        process.once('SIGINT', done);
        process.once('SIGTERM', done);
      });
      process.off('SIGHUP', reload);
      await running.close();
      return 0;
    },
  },
  ...LIFECYCLE_COMMANDS,
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([k, c]) => `  ${k.padEnd(13)} ${c.summary}`);
  return (
    `usage: edgeca signer <command> [options]   (--help after a command for its options)\n${lines.join('\n')}\n` +
    `Settings come from the config file (README.md, Configure) and from the environment:\n${settingsHelp(SIGNER_SETTING_ROWS)}\n`
  );
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
