// Every chain a bench issues is verified: each certificate signed by the next, the last by the
// root, all valid now (node:crypto, in-process), and a few also by `openssl verify`.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PEM_RE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

export interface ChainCheck {
  chains: number;
  failed: number;
  firstFailure?: string;
  opensslChecked: number;
}

function checkOne(chainPem: string, root: X509Certificate, now: Date): string | undefined {
  const certs = (chainPem.match(PEM_RE) ?? []).map((p) => new X509Certificate(p));
  if (certs.length === 0) return 'no certificate in the chain';
  const path = [...certs, root];
  for (let i = 0; i < certs.length; i++) {
    const cert = path[i] as X509Certificate;
    const issuer = path[i + 1] as X509Certificate;
    // The chain may already end with the root itself (Pebble does not; edgeca never sends it).
    if (i === certs.length - 1 && cert.fingerprint256 === root.fingerprint256) break;
    if (!cert.checkIssued(issuer) || !cert.verify(issuer.publicKey))
      return `certificate ${i} is not signed by the next`;
    if (new Date(cert.validFrom) > new Date(now.getTime() + 120_000) || new Date(cert.validTo) < now)
      return `certificate ${i} is not valid now`;
  }
  return undefined;
}

/** Verifies all chains in-process and `opensslSample` of them with `openssl verify`. */
export function verifyChains(chains: string[], rootPem: string, opensslSample: number): ChainCheck {
  const root = new X509Certificate(rootPem);
  const now = new Date();
  let failed = 0;
  let firstFailure: string | undefined;
  for (const c of chains) {
    const why = checkOne(c, root, now);
    if (why) {
      failed++;
      firstFailure ??= why;
    }
  }
  let opensslChecked = 0;
  if (opensslSample > 0 && chains.length > 0) {
    const dir = mkdtempSync(join(tmpdir(), 'edgeca-bench-verify-'));
    try {
      writeFileSync(join(dir, 'root.pem'), rootPem);
      const step = Math.max(1, Math.floor(chains.length / opensslSample));
      for (let i = 0; i < chains.length && opensslChecked < opensslSample; i += step) {
        const certs = (chains[i] as string).match(PEM_RE) ?? [];
        writeFileSync(join(dir, 'leaf.pem'), `${certs[0]}\n`);
        writeFileSync(join(dir, 'untrusted.pem'), `${certs.slice(1).join('\n')}\n`);
        const args = ['verify', '-CAfile', join(dir, 'root.pem')];
        if (certs.length > 1) args.push('-untrusted', join(dir, 'untrusted.pem'));
        try {
          execFileSync('openssl', [...args, join(dir, 'leaf.pem')], { stdio: 'pipe' });
        } catch (e) {
          failed++;
          firstFailure ??= `openssl verify: ${String((e as { stderr?: Buffer }).stderr ?? e).trim()}`;
        }
        opensslChecked++;
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return { chains: chains.length, failed, ...(firstFailure ? { firstFailure } : {}), opensslChecked };
}
