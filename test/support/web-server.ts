// For tests of web servers that get their certificates from edgeca themselves (Caddy, Apache
// mod_md): one HTTPS request to a name served on 127.0.0.1, and the certificate chain it presented.
import { spawn } from 'node:child_process';
import { request } from 'node:https';
import type { TLSSocket } from 'node:tls';

export interface Served {
  status: number;
  body: string;
  /** the presented chain as PEM, leaf first */
  chainPem: string;
}

function toPem(der: Buffer): string {
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END CERTIFICATE-----\n`;
}

/** GET https://<name>:<port>/ from 127.0.0.1 with SNI `name`, trusting only `ca`. */
export function getServed(name: string, port: number, ca: Buffer): Promise<Served> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, servername: name, path: '/', headers: { host: name }, ca, timeout: 10_000 },
      (res) => {
        const socket = res.socket as TLSSocket;
        const chain: string[] = [];
        const seen = new Set<string>();
        let cert = socket.getPeerCertificate(true);
        while (cert?.raw && !seen.has(cert.fingerprint256)) {
          seen.add(cert.fingerprint256);
          chain.push(toPem(cert.raw));
          cert = cert.issuerCertificate;
        }
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, chainPem: chain.join('') }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout: https://${name}:${port}/`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Polls `check` (bounded by `timeoutMs`) until it returns a value; the last error is in the
 * failure message, with `context()` (e.g. the server's log).
 */
export async function pollUntil<T>(
  what: string,
  check: () => Promise<T | undefined>,
  {
    timeoutMs = 120_000,
    gapMs = 500,
    context = (): string => '',
  }: { timeoutMs?: number; gapMs?: number; context?: () => string } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, gapMs));
  }
  throw new Error(`${what} within ${timeoutMs} ms; last error: ${String(last)}\n${context()}`);
}

export interface ServerProcess {
  output(): string;
  exited(): boolean;
  stop(): Promise<void>;
}

/** A server binary as a child process, its output kept; stop() sends SIGTERM, then SIGKILL. */
export function startServer(cmd: string, args: string[], env: Record<string, string>): ServerProcess {
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-200_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exited = false;
  const exit = new Promise<void>((r) =>
    child.once('exit', () => {
      exited = true;
      r();
    }),
  );
  child.once('error', (e) => {
    out += `\ncould not start ${cmd}: ${e.message}`;
  });
  return {
    output: () => out,
    exited: () => exited,
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exit;
      clearTimeout(killer);
    },
  };
}
