// `edgeca validator <command>`: `serve` runs the on-prem validator (docs/validator.md), `public-key`
// prints the public JWK of its answer key, the value the edge pins (EDGECA_VALIDATOR_KEY).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseCommandLine, runCommand, UsageError } from '../cli/args.ts';
import {
  DEFAULT_VALIDATOR_PORT,
  loadValidatorConfig,
  resolveValidatorConfig,
  type ValidatorConfig,
  type ValidatorConfigFile,
} from './config.ts';
import { startValidator } from './server.ts';

const HELP = `usage: edgeca validator serve (--config validator.json | --signer-config signer.json) [options]
       edgeca validator public-key (--config validator.json | --signer-config signer.json)
Runs the on-prem validator: POST /v1/validate performs http-01, dns-01 and tls-alpn-01 from inside
the network for the edge and signs each answer. With --signer-config, the pinned edge keys, the
ceiling and validatorKeyFile come from the signer's config; the flags set the rest.
  --host H               listen address (127.0.0.1)
  --port N               listen port (${DEFAULT_VALIDATOR_PORT})
  --database URL         libSQL URL of the jti record (file:validator.db beside the signer config)
  --dns-resolver H[:P]   the internal DNS server (default: the system resolver)
TEST/DEVELOPMENT ONLY (production validates on 80/443 and never dials loopback):
  --test-http01-port N   --test-tlsalpn-port N   --test-allow-loopback
`;

function port(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--${name} must be a TCP port`);
  return n;
}

export function configFromArgs(
  values: Record<string, string | boolean | (string | boolean)[] | undefined>,
): ValidatorConfig {
  const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const configFile = str('config');
  const signerConfig = str('signer-config');
  if (!configFile === !signerConfig) throw new UsageError('give exactly one of --config and --signer-config');
  // Every flag is checked before the config file is read: a mistake in the command line is
  // reported as one, whatever the file holds.
  const host = str('host');
  const p = port('port', str('port'));
  const http01Port = port('test-http01-port', str('test-http01-port'));
  const tlsAlpnPort = port('test-tlsalpn-port', str('test-tlsalpn-port'));
  const cfg = configFile
    ? loadValidatorConfig(configFile)
    : resolveValidatorConfig(
        { signerConfig: resolve(signerConfig ?? ''), database: 'file:validator.db' } as ValidatorConfigFile,
        resolve(signerConfig ?? '', '..'),
      );
  if (host !== undefined || p !== undefined) {
    cfg.listen = { ...cfg.listen, host: host ?? cfg.listen.host, port: p ?? cfg.listen.port };
  }
  const db = str('database');
  if (db) cfg.database = db;
  const dns = str('dns-resolver');
  if (dns) cfg.dnsResolver = dns;
  if (http01Port !== undefined || tlsAlpnPort !== undefined || values['test-allow-loopback']) {
    cfg.testOnly = {
      ...cfg.testOnly,
      ...(http01Port !== undefined ? { http01Port } : {}),
      ...(tlsAlpnPort !== undefined ? { tlsAlpnPort } : {}),
      ...(values['test-allow-loopback'] ? { allowLoopback: true } : {}),
    };
  }
  return cfg;
}

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  config: { type: 'string', short: 'c' },
  'signer-config': { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  database: { type: 'string' },
  'dns-resolver': { type: 'string' },
  'test-http01-port': { type: 'string' },
  'test-tlsalpn-port': { type: 'string' },
  'test-allow-loopback': { type: 'boolean' },
} as const;

export function main(args: string[]): Promise<number> {
  return runCommand('edgeca validator', HELP, async () => {
    const parsed = parseCommandLine(args, OPTIONS, { maxPositionals: 1 });
    const [cmd] = parsed.positionals;
    if (parsed.values.help || cmd === undefined) {
      process.stdout.write(HELP);
      return 0;
    }
    if (cmd !== 'serve' && cmd !== 'public-key') throw new UsageError(`unknown command "${cmd}"`);
    const config = configFromArgs(parsed.values);
    if (cmd === 'public-key') {
      const { d: _d, ...pub } = JSON.parse(readFileSync(config.validatorKeyFile, 'utf8')) as Record<
        string,
        unknown
      >;
      process.stdout.write(`${JSON.stringify(pub)}\n`);
      return 0;
    }
    if (config.testOnly) {
      process.stderr.write(
        `edgeca validator: WARNING test-only settings in effect: ${JSON.stringify(config.testOnly)}\n`,
      );
    }
    const running = await startValidator({ config });
    await new Promise<void>((done) => {
      process.once('SIGINT', () => done());
      process.once('SIGTERM', () => done());
    });
    await running.close();
    return 0;
  });
}
