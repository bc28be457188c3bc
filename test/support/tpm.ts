// A TPM 2.0 for tests: the swtpm simulator on free loopback ports with a state directory of its
// own, optionally behind the tpm2-abrmd resource manager on a private session D-Bus, and the
// tpm2-pkcs11 module pointed at it through the environment its PKCS#11 users need
// (TPM2_PKCS11_TCTI, TPM2_PKCS11_STORE, DBUS_SESSION_BUS_ADDRESS).
//
// Every daemon is started through `setpriv --pdeathsig SIGKILL`, so it dies with the test process
// even when that process is killed outright; stop() and an exit hook end them earlier. Every
// wait is bounded. PINs reach pkcs11-tool as `env:NAME`, never on its command line.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../harness/ports.ts';
import { waitFor } from '../../harness/wait.ts';
import type { TestTokens } from './hsm-tokens.ts';

const run = promisify(execFile);

const MODULE_CANDIDATES = [
  '/usr/lib/x86_64-linux-gnu/pkcs11/libtpm2_pkcs11.so',
  '/usr/lib/aarch64-linux-gnu/pkcs11/libtpm2_pkcs11.so',
  '/usr/lib/x86_64-linux-gnu/libtpm2_pkcs11.so.1',
  '/usr/lib/aarch64-linux-gnu/libtpm2_pkcs11.so.1',
];

/** The tpm2-pkcs11 module (Debian libtpm2-pkcs11-1); throws naming the packages when absent. */
export function tpmModule(): string {
  const found = MODULE_CANDIDATES.find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      'the tpm2-pkcs11 module is not installed: apt-get install --no-install-recommends ' +
        'libtpm2-pkcs11-1 libtpm2-pkcs11-tools libtss2-tcti-swtpm0 swtpm swtpm-tools tpm2-tools',
    );
  }
  return found;
}

/** A binary on PATH or in /usr/sbin (tpm2-abrmd lives there, off a non-root PATH). */
function bin(name: string): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/sbin', '/usr/bin'];
  for (const d of dirs) if (existsSync(join(d, name))) return join(d, name);
  throw new Error(`${name} is not installed (the TPM test packages: docs/hsm.md, scripts/lib/ensure.ts)`);
}

const START_TIMEOUT_MS = 10_000;
const TOOL_TIMEOUT_MS = 30_000;

export interface Tpm {
  dir: string;
  module: string;
  /** what the PKCS#11 module needs in its environment (the signer's pkcs11.env) */
  env: Record<string, string>;
  /** the TCTI tpm2-tools use to reach this TPM (through abrmd when it runs) */
  tcti: string;
  abrmd: boolean;
  /** Initialises the next free slot's token and its user PIN (pkcs11-tool, PINs through the environment). */
  initToken(label: string, pins: { pin: string; soPin: string }): Promise<void>;
  /** Generates a key (pair) inside the token with pkcs11-tool: type "EC:prime256v1", "rsa:3072", "AES:32" (secret). */
  generateKey(
    tokenLabel: string,
    pin: string,
    key: { type: string; label: string; id: string; secret?: boolean },
  ): Promise<void>;
  /** TPM2_PT_LOCKOUT_COUNTER: authorisation failures the TPM's dictionary-attack logic has counted. */
  lockoutCounter(): Promise<number>;
  /** Freezes the simulator (SIGSTOP): every TPM command waits, as on a TPM too busy to answer. */
  pause(): void;
  resume(): void;
  /** Runs a PKCS#11 tool against this TPM; returns stdout + stderr. */
  pkcs11Tool(args: string[], env?: Record<string, string>): Promise<string>;
  stop(): Promise<void>;
}

interface Daemon {
  name: string;
  child: ChildProcess;
  output(): string;
  exited: Promise<void>;
  done(): boolean;
}

const live = new Set<ChildProcess>();
let exitHook = false;

function daemon(name: string, cmd: string, args: string[], env: Record<string, string>): Daemon {
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
  // PR_SET_PDEATHSIG survives exec: the daemon gets SIGKILL when this process goes, however it goes.
  const child = spawn('setpriv', ['--pdeathsig', 'SIGKILL', '--', cmd, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let out = '';
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let finished = false;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      finished = true;
      live.delete(child);
      resolve();
    });
    child.once('error', (e) => {
      out += `\n${name} could not start: ${e.message}`;
      finished = true;
      live.delete(child);
      resolve();
    });
  });
  return { name, child, output: () => out, exited, done: () => finished };
}

async function stopDaemon(d: Daemon): Promise<void> {
  if (d.done()) return;
  d.child.kill('SIGTERM');
  const timer = setTimeout(() => d.child.kill('SIGKILL'), 3000);
  await d.exited;
  clearTimeout(timer);
}

async function until(what: string, d: Daemon, ready: () => Promise<boolean>): Promise<void> {
  await waitFor(`${what} ready`, async () => ((await ready()) ? true : undefined), {
    timeoutMs: START_TIMEOUT_MS,
    intervalMs: 50,
    giveUp: () => (d.done() ? `${d.name} exited while starting` : undefined),
    context: () => d.output().trim() || 'no output',
  });
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function tool(cmd: string, args: string[], env: Record<string, string>): Promise<string> {
  try {
    const r = await run(cmd, args, { env: { ...process.env, ...env }, timeout: TOOL_TIMEOUT_MS });
    return `${r.stdout}${r.stderr}`;
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
    if (err.code === 'ENOENT') throw new Error(`${cmd} is not installed (see docs/hsm.md for the packages)`);
    throw new Error(`${cmd} ${args[0] ?? ''} failed: ${`${err.stdout ?? ''}${err.stderr ?? ''}`.trim()}`);
  }
}

/**
 * Starts a fresh simulated TPM (its own state directory: no lockout or keys carried over) and,
 * with `abrmd`, the resource manager in front of it.
 */
export async function startTpm(opts: { abrmd?: boolean } = {}): Promise<Tpm> {
  const module = tpmModule();
  const dir = mkdtempSync(join(tmpdir(), 'edgeca-tpm-'));
  const daemons: Daemon[] = [];
  let simulator: Daemon | undefined;
  const stop = async () => {
    if (simulator && !simulator.done()) simulator.child.kill('SIGCONT');
    for (const d of daemons.reverse()) await stopDaemon(d);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const state = join(dir, 'state');
    const store = join(dir, 'store');
    mkdirSync(state);
    mkdirSync(store);
    // swtpm wants two ports, commands on P and control on P+1 (the swtpm TCTI assumes that pair);
    // retried on the rare race for a just-freed port.
    let port = 0;
    for (let attempt = 0; attempt < 5 && port === 0; attempt++) {
      const p = await freePort();
      if (!(await portFree(p + 1))) continue;
      const swtpm = daemon(
        'swtpm',
        'swtpm',
        [
          'socket',
          '--tpm2',
          '--server',
          `type=tcp,port=${p},bindaddr=127.0.0.1`,
          '--ctrl',
          `type=tcp,port=${p + 1},bindaddr=127.0.0.1`,
          '--tpmstate',
          `dir=${state}`,
          '--flags',
          'not-need-init,startup-clear',
        ],
        {},
      );
      daemons.push(swtpm);
      try {
        await until('swtpm', swtpm, async () => (await accepts(p)) && (await accepts(p + 1)));
        port = p;
        simulator = swtpm;
      } catch (e) {
        await stopDaemon(swtpm);
        daemons.pop();
        if (attempt === 4) throw e;
      }
    }
    if (port === 0) throw new Error('no two adjacent free ports on 127.0.0.1 for swtpm');
    const direct = `swtpm:host=127.0.0.1,port=${port}`;
    let tcti = direct;
    const env: Record<string, string> = { TPM2_PKCS11_STORE: store };
    if (opts.abrmd) {
      const bus = `unix:path=${join(dir, 'bus')}`;
      const dbus = daemon(
        'dbus-daemon',
        'dbus-daemon',
        ['--session', '--nofork', '--nopidfile', `--address=${bus}`],
        {},
      );
      daemons.push(dbus);
      await until('dbus-daemon', dbus, async () => existsSync(join(dir, 'bus')));
      env.DBUS_SESSION_BUS_ADDRESS = bus;
      tcti = 'tabrmd:bus_type=session';
      const abrmd = daemon(
        'tpm2-abrmd',
        bin('tpm2-abrmd'),
        ['--session', '--allow-root', '--flush-all', `--tcti=${direct}`],
        { DBUS_SESSION_BUS_ADDRESS: bus },
      );
      daemons.push(abrmd);
      // a failed tpm2_getrandom throws; waitFor keeps its message as the last error
      await until('tpm2-abrmd', abrmd, async () => {
        await run('tpm2_getrandom', ['4'], {
          env: { ...process.env, DBUS_SESSION_BUS_ADDRESS: bus, TPM2TOOLS_TCTI: tcti },
          timeout: 2000,
          encoding: 'buffer',
        });
        return true;
      });
    }
    env.TPM2_PKCS11_TCTI = tcti;
    const toolEnv = { ...env, TPM2TOOLS_TCTI: tcti };
    const pkcs11Tool = (args: string[], extra: Record<string, string> = {}) =>
      tool('pkcs11-tool', ['--module', module, ...args], { ...toolEnv, ...extra });
    let slots = 0;
    return {
      dir,
      module,
      env,
      tcti,
      abrmd: opts.abrmd === true,
      pkcs11Tool,
      pause: () => simulator?.child.kill('SIGSTOP'),
      resume: () => simulator?.child.kill('SIGCONT'),
      async initToken(label, pins) {
        // tpm2-pkcs11 always offers one uninitialised slot after the initialised ones.
        const secrets = { EDGECA_TEST_PIN: pins.pin, EDGECA_TEST_SO_PIN: pins.soPin };
        await pkcs11Tool(
          [
            '--slot-index',
            String(slots),
            '--init-token',
            '--label',
            label,
            '--so-pin',
            'env:EDGECA_TEST_SO_PIN',
          ],
          secrets,
        );
        slots++;
        await pkcs11Tool(
          [
            '--token-label',
            label,
            '--login',
            '--login-type',
            'so',
            '--so-pin',
            'env:EDGECA_TEST_SO_PIN',
            '--init-pin',
            '--pin',
            'env:EDGECA_TEST_PIN',
          ],
          secrets,
        );
      },
      async generateKey(tokenLabel, pin, key) {
        await pkcs11Tool(
          [
            '--token-label',
            tokenLabel,
            '--login',
            '--pin',
            'env:EDGECA_TEST_PIN',
            key.secret ? '--keygen' : '--keypairgen',
            '--key-type',
            key.type,
            '--label',
            key.label,
            '--id',
            key.id,
          ],
          { EDGECA_TEST_PIN: pin },
        );
      },
      async lockoutCounter() {
        const out = await tool('tpm2_getcap', ['properties-variable'], toolEnv);
        const m = /TPM2_PT_LOCKOUT_COUNTER:\s*(0x[0-9a-fA-F]+|\d+)/.exec(out);
        if (!m?.[1]) throw new Error(`tpm2_getcap gave no TPM2_PT_LOCKOUT_COUNTER:\n${out}`);
        return Number(m[1]);
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

export interface TpmTokens extends TestTokens {
  tpm: Tpm;
}

/** A fresh TPM (see startTpm) with the labelled tokens initialised, same PINs, as TestTokens. */
export async function makeTpmTokens(labels: string[], opts: { abrmd?: boolean } = {}): Promise<TpmTokens> {
  const tpm = await startTpm(opts);
  try {
    const pin = `pin-${randomUUID().slice(0, 8)}`;
    const soPin = `so-${randomUUID().slice(0, 8)}`;
    for (const label of labels) await tpm.initToken(label, { pin, soPin });
    return {
      name: opts.abrmd ? 'TPM 2.0 (swtpm, tpm2-abrmd)' : 'TPM 2.0 (swtpm)',
      dir: tpm.dir,
      module: tpm.module,
      settings: { env: tpm.env },
      pin,
      soPin,
      // tpm2-pkcs11 generates RSA keys up to 3072 bits (the TPM 2.0 profile's largest).
      keyTypes: ['EC-P256', 'EC-P384', 'RSA-3072'],
      // The key exists only as a blob wrapped by the TPM: there is no CKA_VALUE to refuse.
      secretRefusal: 'CKR_ATTRIBUTE_TYPE_INVALID',
      authFailures: () => tpm.lockoutCounter(),
      tpm,
      cleanup: () => tpm.stop(),
    };
  } catch (e) {
    await tpm.stop();
    throw e;
  }
}
