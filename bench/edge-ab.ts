// Two Node edges from two checkouts (this one and another, e.g. main unpacked elsewhere with this
// node_modules) behind one signer, measured in turns: level A, level B, A, B, … at the same
// concurrency, so both see the same machine load. Prints the edge's CPU ms per issuance (main
// thread + others, from schedstat) per turn and the median per checkout. A shared, loaded machine
// moves absolute figures; turns of a few seconds keep the comparison within the same minute.
//   node --import tsx bench/edge-ab.ts <other-checkout> [turns=4] [seconds=8] [accounts=8]
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startChallTestSrv } from '../harness/challtestsrv.ts';
import { startHttp01Server } from '../harness/http01.ts';
import { freePort } from '../harness/ports.ts';
import { initDev } from '../signer/bootstrap.ts';
import { Http } from './client.ts';
import { type LevelResult, runLevel } from './issuance.ts';
import { spawnChild, waitReady } from './proc.ts';
import { type Common, REPO, startSignerProc } from './targets.ts';

const [otherArg, ...rest] = process.argv.slice(2);
if (!otherArg) throw new Error('usage: bench/edge-ab.ts <other-checkout> [turns=4] [seconds=8] [accounts=8]');
const other = resolve(otherArg);
const opt = (name: string, def: number) =>
  Number(rest.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1) ?? def);
const turns = opt('turns', 4);
const seconds = opt('seconds', 8);
const accounts = opt('accounts', 8);
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

const work = mkdtempSync(join(tmpdir(), 'edgeca-ab-'));
const stops: (() => Promise<void> | void)[] = [() => rmSync(work, { recursive: true, force: true })];
try {
  const init = await initDev({ dir: join(work, 'ca'), signerPort: await freePort() });
  process.env.SOFTHSM2_CONF = init.softhsmConf;
  const dns = await startChallTestSrv();
  stops.push(() => dns.close());
  const http01 = await startHttp01Server();
  stops.push(() => http01.close());
  const common: Common = {
    init,
    dns: dns.dnsAddress,
    http01Port: http01.port,
    tlsCa: (await import('node:fs')).readFileSync(init.rootCertFile),
  };
  const signer = await startSignerProc(common);
  stops.push(() => signer.child.stop());

  const startEdge = async (name: string, repo: string) => {
    const port = await freePort();
    const child = spawnChild(name, process.execPath, [join(repo, 'bin', 'edgeca.mjs'), 'edge', 'serve'], {
      cwd: repo,
      env: {
        EDGECA_HOST: '127.0.0.1',
        EDGECA_PORT: String(port),
        EDGECA_BASE_URL: `https://127.0.0.1:${port}`,
        EDGECA_TLS_CERT_FILE: init.edgeTlsCertFile,
        EDGECA_TLS_KEY_FILE: init.edgeTlsKeyFile,
        EDGECA_DB_URL: `file:${join(work, `${name}.db`)}`,
        EDGECA_SIGNER_URL: signer.url,
        EDGECA_RELAY_KEY_FILE: init.relayKeyFile,
        EDGECA_SIGNER_KEY_FILE: init.signerAnswerPublicKeyFile,
        EDGECA_DNS_RESOLVER: common.dns,
        EDGECA_HTTP01_PORT: String(common.http01Port),
        EDGECA_ALLOW_LOOPBACK: 'true',
        EDGECA_EAB_REQUIRED: 'false',
      },
    });
    stops.push(() => child.stop());
    const base = `https://127.0.0.1:${port}`;
    await waitReady(child, `${base}/directory`, common.tlsCa);
    return { name, repo, base, pid: child.pid };
  };
  const edges = [await startEdge('this', REPO), await startEdge('other', other)];
  const http = new Http(common.tlsCa, 64);
  stops.push(() => http.close());
  const results = new Map<string, LevelResult[]>(edges.map((e) => [e.name, []]));
  const level = (e: (typeof edges)[number], secs: number) =>
    runLevel({
      http,
      http01,
      directoryUrl: `${e.base}/directory`,
      concurrency: accounts,
      seconds: secs,
      serverPids: [e.pid],
      processes: [{ role: 'edge', pid: e.pid }],
      chains: [],
      domain: 'bench.test',
    });
  for (const e of edges) await level(e, 2); // warm-up: JIT, first accounts, caches
  process.stdout.write(`this = ${REPO}\nother = ${other}\n${accounts} accounts, ${seconds} s turns\n`);
  for (let t = 0; t < turns; t++)
    for (const e of t % 2 ? [...edges].reverse() : edges) {
      const r = await level(e, seconds);
      results.get(e.name)?.push(r);
      const cpu = r.cpuMsPerIssuanceByRole?.edge;
      process.stdout.write(
        `turn ${t + 1} ${e.name.padEnd(5)}: ${r.issued} issued, ${r.errors} errors, edge CPU ms/iss ${cpu ? (cpu.main + cpu.other).toFixed(1) : '?'} (main ${cpu?.main.toFixed(1)}, other ${cpu?.other.toFixed(1)}), load ${load()}\n`,
      );
    }
  const median = (x: number[]) => [...x].sort((a, b) => a - b)[x.length >> 1] ?? 0;
  for (const [name, rs] of results) {
    const all = rs.map(
      (r) => (r.cpuMsPerIssuanceByRole?.edge?.main ?? 0) + (r.cpuMsPerIssuanceByRole?.edge?.other ?? 0),
    );
    const main = rs.map((r) => r.cpuMsPerIssuanceByRole?.edge?.main ?? 0);
    process.stdout.write(
      `${name.padEnd(5)} median edge CPU ms/iss: ${median(all).toFixed(1)} (main thread ${median(main).toFixed(1)}); issued ${rs.reduce((s, r) => s + r.issued, 0)}, errors ${rs.reduce((s, r) => s + r.errors, 0)}\n`,
    );
  }
} finally {
  for (const s of stops.reverse()) await Promise.resolve(s()).catch(() => {});
}
