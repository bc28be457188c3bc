// `edgeca status`: one screen on the whole installation — the edge (liveness, readiness: database
// and signer), the signer (readiness: database and HSM session; issuer), the validator, a few
// counters from /metrics, and the last issuances (through the admin API, with a token). Exit status
// 0 when everything is ready, 1 otherwise, so it serves as a scripted check too.
import { existsSync, readFileSync } from 'node:fs';
import { adminToken } from './admin-token.ts';
import { parseCommandLine, runCommand, UsageError } from './args.ts';
import { httpRequest } from './http-request.ts';

const ENDPOINTS = '.edgeca/dev/endpoints.json';

const HELP = `usage: edgeca status [--edge URL] [--signer URL] [--validator URL] [--ca-file PEM] [--token-file F] [--json]
  --edge       the edge's base URL        (EDGECA_EDGE_URL, else .edgeca/dev/endpoints.json)
  --signer     the signer's URL           (EDGECA_SIGNER_URL, else endpoints.json)
  --validator  the validator's URL        (EDGECA_VALIDATOR_URL, else endpoints.json; optional)
  --ca-file    root to trust for HTTPS    (EDGECA_ADMIN_CA_FILE, else endpoints.json tlsCaFile)
               (the signer's: EDGECA_SIGNER_CA_FILE, else endpoints.json signerCaFile, else this one)
  --token-file file holding an admin token, to list the last issuances (EDGECA_ADMIN_TOKEN_FILE;
               or the token in EDGECA_ADMIN_TOKEN; --token T works but shows it to other users)
Exit status 0 when the edge and the signer are ready, 1 otherwise.
`;

interface Got {
  status: number;
  text: string;
  error?: string;
}

async function get(url: string, o: { ca?: Buffer; token?: string }): Promise<Got> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { status: 0, text: '', error: `not a URL: ${url}` };
  }
  return httpRequest(u, {
    headers: o.token ? { authorization: `Bearer ${o.token}` } : {},
    ca: o.ca,
    timeoutMs: 8000,
    timeoutMessage: 'no answer within 8 s',
  }).catch((e: Error) => ({ status: 0, text: '', error: e.message }));
}

const json = (g: Got): Record<string, unknown> => {
  try {
    return JSON.parse(g.text) as Record<string, unknown>;
  } catch {
    return {};
  }
};

/** Sum of the samples of one metric whose labels contain `match` (Prometheus text). */
export function sample(text: string, name: string, match = ''): number | undefined {
  let found = false;
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || line.startsWith('#')) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    if (match && !rest.includes(match)) continue;
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(v)) {
      found = true;
      sum += v;
    }
  }
  return found ? sum : undefined;
}

type Check = { name: string; ok: boolean; detail: string };

export interface StatusReport {
  edge: {
    url: string;
    live: boolean;
    ready: boolean;
    checks: Check[];
    counters: Record<string, number | undefined>;
  };
  signer: {
    url: string;
    live: boolean;
    ready: boolean;
    checks: Check[];
    issuer?: string;
    counters: Record<string, number | undefined>;
  };
  validator?: { url: string; live: boolean };
  hsm: { tokenLabel?: string; sessionOpen: boolean };
  database: { url?: string; ok: boolean; detail: string };
  lastIssued?:
    | { serial: string; identifiers: string; notAfter: string; revoked: boolean }[]
    | { error: string };
}

export async function collectStatus(o: {
  edge: string;
  signer: string;
  validator?: string;
  ca?: Buffer;
  /** the CA of the signer's own TLS certificate, when it is not `ca` (npm start: a relay CA of its own) */
  signerCa?: Buffer;
  token?: string;
  tokenLabel?: string;
  dbUrl?: string;
}): Promise<StatusReport> {
  const ca = o.ca ? { ca: o.ca } : {};
  const signerCa = o.signerCa ? { ca: o.signerCa } : ca;
  const [eh, er, em, sh, sr, sm, vh] = await Promise.all([
    get(`${o.edge}/health`, ca),
    get(`${o.edge}/ready`, ca),
    get(`${o.edge}/metrics`, ca),
    get(`${o.signer}/v1/health`, signerCa),
    get(`${o.signer}/ready`, signerCa),
    get(`${o.signer}/metrics`, signerCa),
    o.validator ? get(`${o.validator}/v1/health`, ca) : Promise.resolve(undefined),
  ]);
  const edgeChecks = ((json(er).checks as Check[] | undefined) ?? []).map(({ name, ok, detail }) => ({
    name,
    ok,
    detail,
  }));
  if (er.error) edgeChecks.push({ name: 'edge', ok: false, detail: er.error });
  const signerChecks = ((json(sr).checks as Check[] | undefined) ?? []).map(({ name, ok, detail }) => ({
    name,
    ok,
    detail,
  }));
  if (sr.error) signerChecks.push({ name: 'signer', ok: false, detail: sr.error });
  const db = edgeChecks.find((c) => c.name === 'database');
  const report: StatusReport = {
    edge: {
      url: o.edge,
      live: eh.status === 200,
      ready: er.status === 200,
      checks: edgeChecks,
      counters: {
        'orders valid': sample(em.text, 'edgeca_orders', 'status="valid"'),
        'orders invalid': sample(em.text, 'edgeca_orders', 'status="invalid"'),
        'orders processing': sample(em.text, 'edgeca_orders', 'status="processing"'),
        'certificates active': sample(em.text, 'edgeca_certificates', 'state="active"'),
        'certificates revoked': sample(em.text, 'edgeca_certificates', 'state="revoked"'),
        'used nonces': sample(em.text, 'edgeca_nonces_used'),
        'rate-limit refusals': sample(em.text, 'edgeca_rate_limit_refusals_total'),
      },
    },
    signer: {
      url: o.signer,
      live: sh.status === 200 || sh.status === 503,
      ready: sr.status === 200,
      checks: signerChecks,
      ...(typeof json(sh).issuer === 'string' ? { issuer: json(sh).issuer as string } : {}),
      counters: {
        'HSM signatures': sample(sm.text, 'edgeca_signer_hsm_sign_duration_seconds_count'),
        'HSM errors': sample(sm.text, 'edgeca_signer_hsm_sign_errors_total') ?? 0,
      },
    },
    hsm: {
      ...(o.tokenLabel ? { tokenLabel: o.tokenLabel } : {}),
      sessionOpen: json(sh).hsm === 'ok',
    },
    database: {
      ...(o.dbUrl ? { url: o.dbUrl } : {}),
      ok: db?.ok ?? false,
      detail: db?.detail ?? 'unknown (the edge did not answer /ready)',
    },
  };
  if (o.validator && vh) report.validator = { url: o.validator, live: vh.status === 200 };
  if (o.token) {
    const r = await get(`${o.edge}/admin/certificates?limit=5`, { ...ca, token: o.token });
    if (r.status === 200) {
      const certs = (json(r).certificates ?? []) as {
        serial: string;
        identifiers: { value: string }[];
        notAfter: string;
        revokedAt: string | null;
      }[];
      report.lastIssued = certs.map((c) => ({
        serial: c.serial,
        identifiers: c.identifiers.map((i) => i.value).join(', '),
        notAfter: c.notAfter,
        revoked: c.revokedAt !== null,
      }));
    } else report.lastIssued = { error: `admin API answered ${r.status || r.error}` };
  }
  return report;
}

export function formatStatus(r: StatusReport): string {
  const mark = (ok: boolean) => (ok ? 'ok  ' : 'FAIL');
  const lines: string[] = [];
  const counters = (c: Record<string, number | undefined>) =>
    Object.entries(c)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k} ${v}`)
      .join(' · ');
  lines.push(
    `${mark(r.edge.ready)} edge       ${r.edge.url}  ${r.edge.live ? 'live' : 'down'}, ${r.edge.ready ? 'ready' : 'NOT READY'}`,
  );
  for (const c of r.edge.checks) lines.push(`       ${c.ok ? '✓' : '✗'} ${c.name}: ${c.detail}`);
  if (counters(r.edge.counters)) lines.push(`       ${counters(r.edge.counters)}`);
  lines.push(
    `${mark(r.signer.ready)} signer     ${r.signer.url}  ${r.signer.live ? 'live' : 'down'}, ${r.signer.ready ? 'ready' : 'NOT READY'}`,
  );
  if (r.signer.issuer) lines.push(`       issuer: ${r.signer.issuer}`);
  for (const c of r.signer.checks) lines.push(`       ${c.ok ? '✓' : '✗'} ${c.name}: ${c.detail}`);
  if (counters(r.signer.counters)) lines.push(`       ${counters(r.signer.counters)}`);
  lines.push(
    `${mark(r.hsm.sessionOpen)} HSM token  ${r.hsm.tokenLabel ?? '(label unknown)'}  session ${r.hsm.sessionOpen ? 'open' : 'NOT OPEN'}`,
  );
  lines.push(`${mark(r.database.ok)} database   ${r.database.url ?? ''}  ${r.database.detail}`);
  if (r.validator)
    lines.push(
      `${mark(r.validator.live)} validator  ${r.validator.url}  ${r.validator.live ? 'live' : 'down'}`,
    );
  lines.push('');
  if (!r.lastIssued)
    lines.push('last issuances: pass --token-file or set EDGECA_ADMIN_TOKEN_FILE to list them');
  else if ('error' in r.lastIssued) lines.push(`last issuances: ${r.lastIssued.error}`);
  else if (r.lastIssued.length === 0) lines.push('last issuances: none yet');
  else {
    lines.push('last issuances:');
    for (const c of r.lastIssued)
      lines.push(
        `  ${c.serial.slice(0, 16)}…  ${c.identifiers}  until ${c.notAfter}${c.revoked ? '  (revoked)' : ''}`,
      );
  }
  return `${lines.join('\n')}\n`;
}

export function main(args: string[]): Promise<number> {
  return runCommand('edgeca status', HELP, () => status(args));
}

async function status(args: string[]): Promise<number> {
  const v = parseCommandLine(
    args,
    {
      edge: { type: 'string' },
      signer: { type: 'string' },
      validator: { type: 'string' },
      'ca-file': { type: 'string' },
      token: { type: 'string' },
      'token-file': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    { maxPositionals: 0 },
  ).values;
  if (v.help) {
    process.stdout.write(HELP);
    return 0;
  }
  let dev: Record<string, string | undefined> = {};
  if (existsSync(ENDPOINTS)) dev = JSON.parse(readFileSync(ENDPOINTS, 'utf8'));
  const str = (x: unknown) => (typeof x === 'string' && x ? x : undefined);
  const edge = str(v.edge) ?? process.env.EDGECA_EDGE_URL ?? dev.edgeUrl;
  // With several signers (failover), the first is the one shown.
  const signer = (str(v.signer) ?? process.env.EDGECA_SIGNER_URL ?? dev.signerUrl)?.split(',')[0];
  if (!edge || !signer) {
    throw new UsageError('no edge or signer URL (pass --edge and --signer, or run npm start)');
  }
  const validator = str(v.validator) ?? process.env.EDGECA_VALIDATOR_URL ?? dev.validatorUrl;
  const caFile = str(v['ca-file']) ?? process.env.EDGECA_ADMIN_CA_FILE ?? dev.tlsCaFile;
  const signerCaFile = process.env.EDGECA_SIGNER_CA_FILE ?? dev.signerCaFile;
  const token = adminToken(v, (line) => process.stderr.write(`edgeca status: ${line}\n`));
  const report = await collectStatus({
    edge: edge.replace(/\/+$/, ''),
    signer: signer.replace(/\/+$/, ''),
    ...(validator ? { validator: validator.replace(/\/+$/, '') } : {}),
    ...(caFile && existsSync(caFile) ? { ca: readFileSync(caFile) } : {}),
    ...(signerCaFile && existsSync(signerCaFile) ? { signerCa: readFileSync(signerCaFile) } : {}),
    ...(token ? { token } : {}),
    ...(dev.tokenLabel ? { tokenLabel: dev.tokenLabel } : {}),
    ...(dev.dbUrl ? { dbUrl: dev.dbUrl } : {}),
  });
  process.stdout.write(v.json ? `${JSON.stringify(report, null, 2)}\n` : formatStatus(report));
  return report.edge.ready && report.signer.ready ? 0 : 1;
}
