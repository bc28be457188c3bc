// What `npm start` tells once every service is up: .edgeca/dev/endpoints.json, where everything
// is for people and outside tools, and the banner on stdout with the certbot and lego commands.
import { join, relative } from 'node:path';
import { DEV_DIR } from './dev-ca.ts';
import { ROOT } from './ensure.ts';
import { edgeSetting, startSetting } from './start-env.ts';

/** .edgeca/dev/endpoints.json: where everything is, for people and outside tools. */
export interface Endpoints {
  directoryUrl: string;
  edgeUrl: string;
  adminUrl: string;
  edgeRuntime: string;
  signerUrl: string | undefined;
  signerUrls: string[];
  signerConfigFile: string;
  signerCaFile?: string;
  signerKeyFile: string;
  validatorUrl: string | undefined;
  tlsCaFile: string;
  issuingRootFile: string;
  dbUrl?: string | undefined;
  softhsmConf?: string;
  pkcs11Module: string;
  tokenLabel: string;
  pinFile: string;
  [extra: string]: unknown;
}

function quote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
}

/** The ready banner: where the CA is and how to point certbot or lego at it. */
export function printReady(endpoints: Endpoints, http01Port: number): void {
  const root = quote(endpoints.tlsCaFile);
  const dir = endpoints.directoryUrl;
  const name = startSetting('EDGECA_DEMO_NAME');
  const eab = edgeSetting('EDGECA_EAB_REQUIRED');
  const lines = [
    '',
    'edgeca is running (Ctrl-C stops it)',
    '',
    `  ACME directory   ${dir}`,
    `  trust this root  ${endpoints.tlsCaFile}`,
    ...endpoints.signerUrls.map(
      (u, i) => `  signer-${i + 1}${' '.repeat(Math.max(1, 10 - String(i + 1).length))}${u}`,
    ),
    `  validator        ${endpoints.validatorUrl}`,
    `  admin API        ${endpoints.adminUrl}`,
    `  all of the above ${relative(ROOT, join(DEV_DIR, 'endpoints.json'))}`,
    '',
    `certbot (answers http-01 on port ${http01Port}; the edge checks that port, set by EDGECA_HTTP01_PORT):`,
    `  REQUESTS_CA_BUNDLE=${root} certbot certonly --server ${dir} --non-interactive --agree-tos \\`,
    `    --register-unsafely-without-email --standalone --http-01-port ${http01Port} \\`,
    `    --config-dir /tmp/edgeca-certbot --work-dir /tmp/edgeca-certbot --logs-dir /tmp/edgeca-certbot \\`,
    `    -d ${name}${eab ? ' --eab-kid <kid> --eab-hmac-key <hmac>' : ''}`,
    '',
    'lego:',
    `  LEGO_CA_CERTIFICATES=${root} lego --server ${dir} --accept-tos --email admin@example.test \\`,
    `    --path /tmp/edgeca-lego --http --http.port :${http01Port} -d ${name}${eab ? ' --eab --kid <kid> --hmac <hmac>' : ''} run`,
    '',
    `The name must resolve to this machine for the edge: point it at a test DNS server with`,
    '  EDGECA_DNS_RESOLVER=127.0.0.1:8053 npm start   (e.g. pebble-challtestsrv, see README "Use with certbot")',
    '',
    `External Account Binding${eab ? ' (required: EDGECA_EAB_REQUIRED is set)' : ' (optional; EDGECA_EAB_REQUIRED=true makes it mandatory)'}:`,
    '  npx edgeca eab create          prints a kid and an HMAC key once (--json for scripts)',
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
