// Dispatches `edgeca <area> <command>` to the area's own CLI module. Each area parses its command
// line with cli/args.ts; whatever escapes an area still ends as one line on stderr, never a stack.
import { runCommand } from './args.ts';

const AREAS: Record<
  string,
  { load: () => Promise<{ main(args: string[]): Promise<number> }>; help: string }
> = {
  signer: {
    load: () => import('../signer/cli.ts'),
    help: 'init, import-cert, key-info, serve, crl, audit-verify',
  },
  edge: { load: () => import('./edge.ts'), help: 'serve (the ACME edge on Node)' },
  dev: {
    load: () => import('./doh-bridge.ts'),
    help: 'doh-bridge (DNS-over-HTTPS in front of a test DNS server)',
  },
  eab: { load: () => import('./eab.ts'), help: 'create, list, revoke External Account Binding keys' },
  admin: {
    load: () => import('./admin.ts'),
    help: 'policies, profiles, EAB keys, rate limits, accounts, certificates, tokens, change log',
  },
  keys: {
    load: () => import('./keys.ts'),
    help: 'generate, public (the ES256 keys the edge, signer and validator pin)',
  },
  status: {
    load: () => import('./status.ts'),
    help: 'one screen: edge, signer, HSM token, database, last issuances',
  },
  validator: {
    load: () => import('../validator/cli.ts'),
    help: 'serve, public-key (the on-prem validator, docs/validator.md)',
  },
};

export async function main(args: string[]): Promise<number> {
  const [area, ...rest] = args;
  const entry = area ? AREAS[area] : undefined;
  if (!entry) {
    const lines = Object.entries(AREAS).map(([k, v]) => `  edgeca ${k.padEnd(8)} ${v.help}`);
    const out = `usage: edgeca <area> <command> [options]\n${lines.join('\n')}\n`;
    if (area && area !== 'help' && area !== '--help' && area !== '-h') {
      process.stderr.write(`edgeca: unknown area "${area}"\n${out}`);
      return 2;
    }
    process.stdout.write(out);
    return 0;
  }
  return runCommand(`edgeca ${area}`, '', async () => (await entry.load()).main(rest));
}
