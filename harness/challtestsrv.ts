// A real mock DNS for tests and the benchmark: Debian's pebble-challtestsrv (package `pebble`) on
// free loopback ports, with its HTTP/TLS challenge servers disabled. Every A query answers 127.0.0.1 unless told otherwise;
// AAAA answers nothing (TESTING.md: an ::1 answer makes clients dial IPv6 first).
import { type ChildProcess, spawn } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { freePort } from './ports.ts';
import { waitFor } from './wait.ts';

export interface ChallTestSrv {
  /** "127.0.0.1:PORT": give it to createNodeRuntime({ dnsResolver }) */
  dnsAddress: string;
  managementUrl: string;
  setTxt(host: string, value: string): Promise<void>;
  clearTxt(host: string): Promise<void>;
  addA(host: string, ip: string | string[]): Promise<void>;
  clearA(host: string): Promise<void>;
  close(): Promise<void>;
}

const BINARY = 'pebble-challtestsrv';
const START_TIMEOUT_MS = 10_000;

/** The pebble-challtestsrv binary on PATH (or the given dirs), else /usr/bin; throws naming the package. */
export function findChallTestSrv(
  dirs: string[] = [...(process.env['PATH'] ?? '').split(delimiter).filter(Boolean), '/usr/bin'],
): string {
  for (const d of dirs) {
    const p = join(d, BINARY);
    if (existsSync(p)) return p;
  }
  throw new Error(
    `${BINARY} not found on PATH or in /usr/bin: install the Debian package "pebble" (apt-get install pebble)`,
  );
}

const fqdn = (host: string) => (host.endsWith('.') ? host : `${host}.`);

export async function startChallTestSrv(): Promise<ChallTestSrv> {
  const bin = findChallTestSrv();
  const dnsPort = await freePort({ udp: true });
  const mgmtPort = await freePort();
  const dnsAddress = `127.0.0.1:${dnsPort}`;
  const managementUrl = `http://127.0.0.1:${mgmtPort}`;
  const child: ChildProcess = spawn(
    bin,
    [
      '-management',
      `127.0.0.1:${mgmtPort}`,
      '-dns01',
      dnsAddress,
      '-http01',
      '',
      '-https01',
      '',
      '-tlsalpn01',
      '',
      '-defaultIPv4',
      '127.0.0.1',
      '-defaultIPv6',
      '',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
  });

  async function close(): Promise<void> {
    if (exited) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exit;
    clearTimeout(killer);
  }

  async function post(path: string, body: unknown): Promise<void> {
    const res = await fetch(`${managementUrl}${path}`, { method: 'POST', body: JSON.stringify(body) });
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`pebble-challtestsrv ${path} answered ${res.status}`);
  }

  // Wait (bounded) until both the management API and the DNS server answer.
  const resolver = new Resolver({ timeout: 200, tries: 1 });
  resolver.setServers([dnsAddress]);
  try {
    await waitFor(
      `pebble-challtestsrv answering at ${managementUrl} and ${dnsAddress}`,
      async () => {
        const res = await fetch(`${managementUrl}/clear-a`, {
          method: 'POST',
          body: JSON.stringify({ host: 'startup-probe.test.' }),
        });
        await res.arrayBuffer();
        return resolver.resolve4('startup-probe.test');
      },
      {
        timeoutMs: START_TIMEOUT_MS,
        intervalMs: 50,
        giveUp: () => (exited ? 'pebble-challtestsrv exited during start-up' : undefined),
        context: () => output.trim(),
      },
    );
  } catch (e) {
    await close();
    throw e;
  }

  return {
    dnsAddress,
    managementUrl,
    setTxt: (host, value) => post('/set-txt', { host: fqdn(host), value }),
    clearTxt: (host) => post('/clear-txt', { host: fqdn(host) }),
    addA: (host, ip) => post('/add-a', { host: fqdn(host), addresses: Array.isArray(ip) ? ip : [ip] }),
    clearA: (host) => post('/clear-a', { host: fqdn(host) }),
    close,
  };
}
