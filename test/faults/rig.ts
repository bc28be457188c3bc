// The crash-test rig: the dev bootstrap in a temp directory, then the signer and the edge as CHILD
// PROCESSES (`edgeca signer serve`, `edgeca edge serve`, as npm start runs them), so a test can
// kill -9 either one at any moment and start it again on the same port, token and database.
// Everything listens on 127.0.0.1; every wait is bounded.
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../harness/ports.ts';
import { httpAnswers, waitFor } from '../../harness/wait.ts';
import { type DevInit, initDev } from '../../signer/bootstrap.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const CLI = join(ROOT, 'bin', 'edgeca.mjs');

export type Which = 'signer' | 'edge';

export interface Rig {
  dir: string;
  init: DevInit;
  edgeUrl: string;
  directoryUrl: string;
  signerUrl: string;
  edgeDbUrl: string;
  signerDbUrl: string;
  caFile: string;
  start(which: Which): Promise<void>;
  /** SIGKILL (kill -9) the child; resolves once it is gone */
  kill(which: Which): Promise<void>;
  running(which: Which): boolean;
  /** the last lines the child wrote, for failure messages */
  tail(which: Which): string;
  stop(): Promise<void>;
}

interface Child {
  proc: ChildProcess;
  exited: Promise<void>;
  gone: boolean;
}

export interface RigOptions {
  http01Port?: number;
  /** further EDGECA_* settings for the edge */
  env?: Record<string, string>;
}

export async function startRig(o: RigOptions = {}): Promise<Rig> {
  const dir = await mkdtemp(join(tmpdir(), 'edgeca-faults-'));
  const signerPort = await freePort();
  const edgePort = await freePort();
  const init = await initDev({ dir, signerPort });
  const signerUrl = `http://127.0.0.1:${signerPort}`;
  const edgeUrl = `https://127.0.0.1:${edgePort}`;
  const edgeDbUrl = `file:${join(dir, 'edge.db')}`;
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    ...(init.softhsmConf ? { SOFTHSM2_CONF: init.softhsmConf } : {}),
    EDGECA_HOST: '127.0.0.1',
    EDGECA_PORT: String(edgePort),
    EDGECA_BASE_URL: edgeUrl,
    EDGECA_TLS_CERT_FILE: init.edgeTlsCertFile,
    EDGECA_TLS_KEY_FILE: init.edgeTlsKeyFile,
    EDGECA_DB_URL: edgeDbUrl,
    EDGECA_SIGNER_URL: signerUrl,
    EDGECA_RELAY_KEY_FILE: init.relayKeyFile,
    EDGECA_SIGNER_KEY_FILE: init.signerAnswerPublicKeyFile,
    EDGECA_ALLOW_LOOPBACK: 'true',
    ...(o.http01Port !== undefined ? { EDGECA_HTTP01_PORT: String(o.http01Port) } : {}),
    ...o.env,
  };
  // NODE_TEST_CONTEXT would make a child report to this test runner.
  delete env.NODE_TEST_CONTEXT;
  const children: Partial<Record<Which, Child>> = {};
  const tails: Record<Which, string[]> = { signer: [], edge: [] };
  const args: Record<Which, string[]> = {
    signer: [CLI, 'signer', 'serve', '--config', init.signerConfigFile],
    edge: [CLI, 'edge', 'serve'],
  };
  const { httpsFetch } = await import('../support/https-fetch.ts');
  const healthUrl = (which: Which) =>
    which === 'signer' ? `${signerUrl}/v1/health` : `${edgeUrl}/directory`;

  const rig: Rig = {
    dir,
    init,
    edgeUrl,
    directoryUrl: `${edgeUrl}/directory`,
    signerUrl,
    edgeDbUrl,
    signerDbUrl: `file:${join(dir, 'signer.db')}`,
    caFile: init.rootCertFile,
    running: (which) => children[which] !== undefined && !children[which].gone,
    tail: (which) => tails[which].join('\n'),
    async start(which) {
      if (rig.running(which)) return;
      const proc = spawn(process.execPath, args[which], {
        cwd: ROOT,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const keep = (chunk: Buffer) => {
        tails[which].push(...chunk.toString('utf8').split('\n').filter(Boolean));
        tails[which].splice(0, Math.max(0, tails[which].length - 30));
      };
      proc.stdout?.on('data', keep);
      proc.stderr?.on('data', keep);
      const child: Child = { proc, gone: false, exited: Promise.resolve() };
      child.exited = new Promise((resolve) => proc.once('exit', () => resolve()));
      void child.exited.then(() => {
        child.gone = true;
      });
      children[which] = child;
      const url = healthUrl(which);
      await waitFor(
        `${which} healthy at ${url}`,
        httpAnswers(url, { fetch: httpsFetch(init.rootCertFile) }),
        {
          timeoutMs: 15_000,
          intervalMs: 50,
          giveUp: () => (child.gone ? `${which} exited while starting` : undefined),
          context: () => rig.tail(which),
        },
      );
    },
    async kill(which) {
      const child = children[which];
      if (!child || child.gone) return;
      child.proc.kill('SIGKILL');
      await child.exited;
    },
    async stop() {
      for (const which of ['edge', 'signer'] as const) {
        const child = children[which];
        if (child && !child.gone) {
          child.proc.kill('SIGTERM');
          const t = setTimeout(() => child.proc.kill('SIGKILL'), 5000);
          await child.exited;
          clearTimeout(t);
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return rig;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
