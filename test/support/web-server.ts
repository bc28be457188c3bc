// For tests of web servers that get their certificates from edgeca themselves (Caddy, Apache
// mod_md): the system they run against (mock DNS, EAB required, an EAB key, the server's two ports,
// a work folder), the server as a child process, one HTTPS request to a name served on 127.0.0.1
// with the certificate chain it presented, and the check that what it serves is edgeca's.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { type ChallTestSrv, startChallTestSrv } from '../../harness/challtestsrv.ts';
import { freePort } from '../../harness/ports.ts';
import { waitFor } from '../../harness/wait.ts';
import { createEab, type System, startSystem } from './system.ts';
import { verifyChain } from './tools.ts';

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

/** The system a web server under test gets its certificate from, and the server's own ports. */
export interface WebServerRig {
  sys: System;
  dns: ChallTestSrv;
  eab: { kid: string; hmacKey: string };
  /** where the server answers http-01 (the edge dials it there) */
  httpPort: number;
  /** where the server serves HTTPS */
  httpsPort: number;
  /** a folder of the test's own, removed by close() */
  work: string;
  /** the web server, once serve() started it */
  server?: ServerProcess;
  /** starts the web server under test (startServer) as this rig's server */
  serve(cmd: string, args: string[], env: Record<string, string>): ServerProcess;
  /** stops the server, the system and the mock DNS; removes the work folder */
  close(): Promise<void>;
}

/**
 * The mock DNS, the whole system with EAB required and one EAB key. `tlsAlpnOnHttps`: the edge
 * dials tls-alpn-01 at the server's HTTPS port too (in production both are 80 and 443).
 */
export async function startWebServerRig(
  name: string,
  o: { tlsAlpnOnHttps?: boolean } = {},
): Promise<WebServerRig> {
  const dns = await startChallTestSrv();
  const httpPort = await freePort();
  const httpsPort = await freePort();
  const sys = await startSystem({
    dnsResolver: dns.dnsAddress,
    http01Port: httpPort,
    eabRequired: true,
    ...(o.tlsAlpnOnHttps ? { env: { EDGECA_TLSALPN01_PORT: String(httpsPort) } } : {}),
  });
  const work = mkdtempSync(join(tmpdir(), `edgeca-${name}-`));
  const rig: WebServerRig = {
    sys,
    dns,
    eab: await createEab(sys),
    httpPort,
    httpsPort,
    work,
    serve(cmd, args, env) {
      rig.server = startServer(cmd, args, env);
      return rig.server;
    },
    async close() {
      await rig.server?.stop();
      await sys.stop();
      await dns.close();
      rmSync(work, { recursive: true, force: true });
    },
  };
  return rig;
}

/**
 * Waits (bounded) until the rig's server serves https://`name` on the rig's HTTPS port, then checks that
 * it serves `body` with a chain that verifies to edgeca's root (openssl, sslserver) and names
 * `name`. Returns the leaf.
 */
export async function expectServedByEdgeca(
  rig: WebServerRig,
  name: string,
  body: string,
  o: { timeoutMs: number; context?: () => string },
): Promise<X509Certificate> {
  const ca = readFileSync(rig.sys.caFile);
  const served = await waitFor(
    `${name} served over HTTPS with an edgeca certificate`,
    () => getServed(name, rig.httpsPort, ca),
    {
      timeoutMs: o.timeoutMs,
      intervalMs: 500,
      giveUp: () => (rig.server?.exited() ? 'the server exited' : undefined),
      context: o.context ?? (() => rig.server?.output().slice(-6000) ?? ''),
    },
  );
  assert.equal(served.status, 200);
  assert.equal(served.body, body);
  await verifyChain(served.chainPem, rig.sys.caFile, { purpose: 'sslserver' });
  const leaf = new X509Certificate(served.chainPem);
  assert.match(leaf.subjectAltName ?? '', new RegExp(`DNS:${name.replaceAll('.', '\\.')}`));
  return leaf;
}
