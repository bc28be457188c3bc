// The package as an operator installs and runs it (docs/deploy.md), in a temporary root directory
// standing for the machine: `npm pack`, `npm install -g --prefix <root>/usr/local` of the tarball
// (the registry for the dependencies; pkcs11js compiles its addon), then with the installed
// `edgeca` only: a SoftHSM token, `signer init --mode intermediate-csr`, the CSR signed by an
// "offline" root with openssl, `signer import-cert`; then the exact command, environment and
// credentials of each systemd unit in the package (paths moved under the root): the signer with its
// PIN as a credential (and refusing to start without it), the validator, the edge on Node, an EAB
// key, one certificate for 127.0.0.1 validated by the edge and the validator both and verified
// with openssl up to the offline root, and the edge on Deno from the package's compiled code.
// Nothing here may resolve from the repository's node_modules: no tsx, no TypeScript at run time.
//
// Time on the 2-core development machine: about 2.5 minutes, most of it `npm install` (≈45 s)
// and `npm pack` with its type-checked build (≈20 s).
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import acme from 'acme-client';
import { startHttp01Server } from '../../harness/http01.ts';
import { freePort } from '../../harness/ports.ts';
import { httpAnswers, waitFor } from '../../harness/wait.ts';
import { httpsFetch } from '../support/https-fetch.ts';
import { requireTool, verifyChain } from '../support/tools.ts';
import { readUnit, type ServiceLaunch, serviceLaunch } from './units.ts';

const REPO = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);
acme.setLogger(() => {});

/**
 * docs/deploy.md's command that makes a relay (or validator) signing key: a private P-256 JWK with
 * a kid in a file of mode 0600, the public half printed. The test runs it and checks that the page
 * shows it.
 */
const NEW_KEY_COMMAND = 'edgeca keys generate --kid-prefix edge --out /etc/edgeca/credentials/relay-key.json';

/** docs/deploy.md's extensions for the intermediate the offline root signs. */
const INTERMEDIATE_EXT = `basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
`;

let work: string;
let root: string;
let pkgDir: string;
let edgeca: string;
const timings: string[] = [];
const children: ChildProcess[] = [];

/** An absolute path of the deployed machine, moved under the test's root. */
const move = (s: string) =>
  s.replace(/(^|[\s=,:"])\/(usr\/local|etc\/edgeca|var\/lib|var\/cache)(?=[/,"]|$)/gm, `$1${root}/$2`);
const etc = (f: string) => join(root, 'etc/edgeca', f);

/** What runs the installed package: the system's PATH and nothing of this test process. */
function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: work, LANG: 'C.UTF-8', ...extra };
}

async function timed<T>(what: string, step: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  const out = await step();
  timings.push(`${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return out;
}

async function cli(args: string[], env: Record<string, string> = {}) {
  return run(edgeca, args, { cwd: work, env: cleanEnv(env), timeout: 120_000 });
}

interface Service {
  proc: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
  stop(): Promise<void>;
}

/** Starts what `unitName` starts, as systemd would: its credentials copied into a private directory. */
function startUnit(
  unitName: string,
  opts: { omitCredentials?: boolean; env?: Record<string, string>; command?: string } = {},
): { service: Service; launch: ServiceLaunch } {
  const credentials = mkdtempSync(join(work, `credentials-${unitName}-`));
  chmodSync(credentials, 0o700);
  const launch = serviceLaunch(readUnit(unitName, join(pkgDir, 'packaging/systemd')), move, credentials);
  if (!opts.omitCredentials) {
    for (const c of launch.credentials) {
      copyFileSync(c.source, join(credentials, c.name));
      chmodSync(join(credentials, c.name), 0o400);
    }
  }
  // systemd sets $CREDENTIALS_DIRECTORY for a unit with LoadCredential= (left empty here when the
  // test leaves the credentials out, as for a unit whose LoadCredential= names another file)
  const withCredentials: Record<string, string> =
    launch.credentials.length > 0 ? { CREDENTIALS_DIRECTORY: credentials } : {};
  const proc = spawn(opts.command ?? launch.command, launch.args, {
    cwd: launch.cwd ?? work,
    env: cleanEnv({ ...launch.env, ...withCredentials, ...opts.env }),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  children.push(proc);
  let out = '';
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-100_000);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const exit = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const service: Service = {
    proc,
    output: () => out,
    exit,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      process.kill(-(proc.pid as number), 'SIGTERM');
      const killer = setTimeout(() => process.kill(-(proc.pid as number), 'SIGKILL'), 10_000);
      await exit;
      clearTimeout(killer);
    },
  };
  return { service, launch };
}

/** Polls `url` until it answers 200 (bounded), failing with the service's output if it exits. */
function waitHealthy(service: Service, url: string, fetchFn: typeof fetch = fetch): Promise<Response> {
  return waitFor(`${url} answering 200`, httpAnswers(url, { fetch: fetchFn }), {
    timeoutMs: 90_000,
    intervalMs: 250,
    giveUp: () =>
      service.proc.exitCode !== null ? `the service exited (${service.proc.exitCode}) first` : undefined,
    context: () => service.output(),
  });
}

function writeJson(file: string, value: unknown) {
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}

before(async () => {
  requireTool('openssl', 'openssl');
  requireTool('softhsm2-util', 'softhsm2');
  work = mkdtempSync(join(tmpdir(), 'edgeca-package-'));
  root = join(work, 'root');
  mkdirSync(join(root, 'usr/local'), { recursive: true });
  const packDir = join(work, 'pack');
  mkdirSync(packDir);
  // `npm pack` runs the prepack script: the type-checked build into the repository's dist/.
  await timed('npm pack', () =>
    run('npm', ['pack', '--pack-destination', packDir], { cwd: REPO, timeout: 300_000 }),
  );
  const [tarball] = readdirSync(packDir).filter((f) => f.endsWith('.tgz'));
  assert.ok(tarball, 'npm pack wrote no tarball');
  // docs/deploy.md's install command, with the root moved.
  await timed('npm install -g', () =>
    run(
      'npm',
      [
        'install',
        '-g',
        '--prefix',
        join(root, 'usr/local'),
        '--allow-scripts=pkcs11js',
        '--no-audit',
        '--no-fund',
        join(packDir, tarball),
      ],
      // npm itself runs with the user's environment: its registry and cache settings
      { cwd: work, timeout: 600_000 },
    ),
  );
  pkgDir = join(root, 'usr/local/lib/node_modules/edgeca');
  edgeca = join(root, 'usr/local/bin/edgeca');
});

after(async () => {
  for (const c of children) {
    try {
      if (c.exitCode === null && c.signalCode === null) process.kill(-(c.pid as number), 'SIGKILL');
    } catch {
      // gone
    }
  }
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the npm package installed with npm install -g', { timeout: 900_000 }, () => {
  test('holds compiled JavaScript, the units, config templates and docs; no TypeScript, no tests', (t) => {
    for (const line of timings) t.diagnostic(line);
    const files = readdirSync(pkgDir, { recursive: true, encoding: 'utf8' }).filter(
      (f) => !f.startsWith('node_modules'),
    );
    for (const f of [
      'bin/edgeca.mjs',
      'dist/cli/main.js',
      'dist/edge/main/deno.js',
      'packaging/systemd/edgeca-signer.service',
      'packaging/etc/edgeca/signer.json',
      'docs/deploy.md',
      'docs/clients.md',
      'README.md',
    ]) {
      assert.ok(files.includes(f), `${f} is not in the package`);
    }
    assert.deepEqual(
      files.filter((f) => /\.(ts|mts|cts)$/.test(f) || /\.test\./.test(f)),
      [],
      'TypeScript or tests in the package',
    );
    assert.ok(
      existsSync(join(pkgDir, 'node_modules/pkcs11js/build/Release/pkcs11.node')),
      'pkcs11js not built',
    );
  });

  test('cannot load tsx, typescript or esbuild: nothing compiles at run time', async () => {
    for (const dev of ['tsx', 'tsx/esm/api', 'typescript', 'esbuild']) {
      const r = await run(
        process.execPath,
        [
          '-e',
          `try { require.resolve(${JSON.stringify(dev)}); console.log('found') } catch (e) { console.log(e.code) }`,
        ],
        { cwd: pkgDir, env: cleanEnv() },
      );
      assert.equal(r.stdout.trim(), 'MODULE_NOT_FOUND', `${dev} resolves from the installed package`);
    }
  });

  test('every package the compiled code imports is a dependency, installed with it', () => {
    const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const imported = new Set<string>();
    const dist = join(pkgDir, 'dist');
    for (const f of readdirSync(dist, { recursive: true, encoding: 'utf8' })) {
      if (!f.endsWith('.js')) continue;
      const text = readFileSync(join(dist, f), 'utf8');
      // a specifier is a package name (or node:/cloudflare:), never text such as "from');" in code
      for (const m of text.matchAll(
        /(?:\bfrom|^import|\bimport\()\s*'((?:node:|cloudflare:)?[@a-z0-9][\w./@-]*)'/gm,
      )) {
        const spec = m[1] as string;
        if (spec.startsWith('node:') || spec.startsWith('cloudflare:')) continue;
        imported.add(
          spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] as string),
        );
      }
    }
    assert.ok(imported.has('hono') && imported.has('pkcs11js'), [...imported].join(', '));
    for (const name of imported) {
      assert.ok(pkg.dependencies[name], `dist/ imports ${name}, which is not in "dependencies"`);
      assert.ok(existsSync(join(pkgDir, 'node_modules', name, 'package.json')), `${name} is not installed`);
    }
    assert.deepEqual(
      Object.keys(pkg.dependencies).filter((d) => !imported.has(d)),
      [],
      'dependencies nothing imports',
    );
  });

  describe('deployed as docs/deploy.md says, with an offline root', () => {
    const offline = () => join(work, 'offline-root');
    let signerUrl: string;
    let validatorUrl: string;
    let http01: Awaited<ReturnType<typeof startHttp01Server>>;
    const services: Service[] = [];

    test('docs/deploy.md shows the key command and the intermediate extensions this test runs', () => {
      const doc = readFileSync(join(pkgDir, 'docs/deploy.md'), 'utf8');
      assert.ok(doc.includes(NEW_KEY_COMMAND), 'the key command differs from docs/deploy.md');
      assert.ok(doc.includes(INTERMEDIATE_EXT), 'the intermediate extensions differ from docs/deploy.md');
    });

    test('signer init --mode intermediate-csr, the offline root signs, import-cert', async () => {
      // /etc/edgeca from the package's templates; the PIN as a file only root reads.
      mkdirSync(etc('credentials'), { recursive: true, mode: 0o700 });
      for (const f of ['signer.json', 'validator.json', 'softhsm2.conf', 'edge.env']) {
        writeFileSync(etc(f), move(readFileSync(join(pkgDir, 'packaging/etc/edgeca', f), 'utf8')));
      }
      writeFileSync(
        etc('credentials/hsm-pin'),
        `${Buffer.from(crypto.getRandomValues(new Uint8Array(18))).toString('base64url')}\n`,
        {
          mode: 0o600,
        },
      );
      const pin = readFileSync(etc('credentials/hsm-pin'), 'utf8').trim();
      mkdirSync(join(root, 'var/lib/edgeca-signer/tokens'), { recursive: true, mode: 0o700 });
      await run(
        'softhsm2-util',
        ['--init-token', '--free', '--label', 'edgeca', '--pin', pin, '--so-pin', `so-${pin}`],
        { env: { ...cleanEnv(), SOFTHSM2_CONF: etc('softhsm2.conf') }, timeout: 60_000 },
      );
      const asRoot = { CREDENTIALS_DIRECTORY: etc('credentials') };

      // The edge's relay key: private half a credential of the edge, public half pinned by the signer.
      const [, ...keyArgs] = NEW_KEY_COMMAND.split(' ');
      const relayPublic = JSON.parse((await cli(keyArgs.map(move))).stdout);
      assert.equal(statSync(etc('credentials/relay-key.json')).mode & 0o777, 0o600);
      const signerPort = await freePort();
      const signerConfig = JSON.parse(readFileSync(etc('signer.json'), 'utf8'));
      writeJson(etc('signer.json'), {
        ...signerConfig,
        listen: { ...signerConfig.listen, port: signerPort },
        edgeKeys: [relayPublic],
        // this test issues for 127.0.0.1
        ceiling: { ...signerConfig.ceiling, ipRanges: ['127.0.0.0/8'] },
      });
      signerUrl = `http://127.0.0.1:${signerPort}`;

      const init = await cli(
        ['signer', 'init', '--config', etc('signer.json'), '--mode', 'intermediate-csr'],
        asRoot,
      );
      assert.equal(JSON.parse(init.stdout).csrFile, etc('intermediate.csr'));

      // The offline machine: its own root key (never on the online one) signs the CSR.
      mkdirSync(offline());
      const o = (f: string) => join(offline(), f);
      await run('openssl', [
        'req',
        '-x509',
        '-new',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-sha256',
        '-days',
        '3650',
        '-subj',
        '/O=Example/CN=Example Offline Root',
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
        // docs/deploy.md leaves -noenc out so that openssl asks for a passphrase
        '-noenc',
        '-keyout',
        o('root-key.pem'),
        '-out',
        o('root.pem'),
      ]);
      writeFileSync(o('intermediate.ext'), INTERMEDIATE_EXT);
      await run('openssl', [
        'x509',
        '-req',
        '-in',
        etc('intermediate.csr'),
        '-CA',
        o('root.pem'),
        '-CAkey',
        o('root-key.pem'),
        '-days',
        '1825',
        '-sha256',
        '-extfile',
        o('intermediate.ext'),
        '-out',
        o('intermediate.pem'),
      ]);
      copyFileSync(o('root.pem'), etc('root.pem'));
      const imported = await cli(
        ['signer', 'import-cert', '--config', etc('signer.json'), '--cert', o('intermediate.pem')],
        asRoot,
      );
      assert.equal(JSON.parse(imported.stdout), etc('intermediate.pem'));
      const info = JSON.parse(
        (await cli(['signer', 'key-info', '--config', etc('signer.json')], asRoot)).stdout,
      );
      assert.equal(info.sensitive, true);
      assert.equal(info.extractable, false);
      // The signer's answer key (in its state directory); the edge pins its public half.
      const answerKey = await cli([
        'signer',
        'answer-key',
        '--out',
        join(root, 'var/lib/edgeca-signer/answer-key.json'),
      ]);
      writeFileSync(etc('signer-answer-public.json'), answerKey.stdout);

      // The edge's HTTPS certificate, from the offline root too (a key made on the edge machine).
      await run('openssl', [
        'req',
        '-new',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-noenc',
        '-keyout',
        etc('credentials/edge-tls-key.pem'),
        '-subj',
        '/CN=127.0.0.1',
        '-out',
        join(work, 'edge-tls.csr'),
      ]);
      writeFileSync(o('edge-tls.ext'), 'subjectAltName = IP:127.0.0.1\nextendedKeyUsage = serverAuth\n');
      await run('openssl', [
        'x509',
        '-req',
        '-in',
        join(work, 'edge-tls.csr'),
        '-CA',
        o('root.pem'),
        '-CAkey',
        o('root-key.pem'),
        '-days',
        '90',
        '-sha256',
        '-extfile',
        o('edge-tls.ext'),
        '-out',
        etc('edge-tls-cert.pem'),
      ]);

      // The validator's answer key: private in /etc/edgeca for its user, public pinned by the edge.
      await cli(['keys', 'generate', '--kid-prefix', 'validator', '--out', etc('validator-key.json')]);
      const validatorPort = await freePort();
      http01 = await startHttp01Server();
      const validatorConfig = JSON.parse(readFileSync(etc('validator.json'), 'utf8'));
      writeJson(etc('validator.json'), {
        ...validatorConfig,
        listen: { ...validatorConfig.listen, port: validatorPort },
        // test only: the challenge answers on 127.0.0.1 at a high port
        testOnly: { allowLoopback: true, http01Port: http01.port },
      });
      validatorUrl = `http://127.0.0.1:${validatorPort}`;
      const pub = await cli(['validator', 'public-key', '--config', etc('validator.json')]);
      writeFileSync(etc('validator-public-key.json'), pub.stdout);
      for (const dir of ['var/lib/edgeca-validator', 'var/lib/edgeca-edge', 'var/cache/edgeca-edge-deno']) {
        mkdirSync(join(root, dir), { recursive: true, mode: 0o700 });
      }
    });

    test('the signer unit refuses to start without its PIN credential, naming it', async () => {
      const { service } = startUnit('edgeca-signer.service', { omitCredentials: true });
      const code = await service.exit;
      assert.notEqual(code, 0);
      assert.match(service.output(), /credential "hsm-pin" \(pkcs11\.pinCredential\) is missing/);
    });

    const edgeCa = () => etc('root.pem');
    let validator: Service;
    test('the signer, validator and Node edge units start and answer their health checks', async (t) => {
      const signer = startUnit('edgeca-signer.service').service;
      services.push(signer);
      const health = await (await waitHealthy(signer, `${signerUrl}/v1/health`)).json();
      assert.equal(health.hsm, 'ok');
      assert.match(health.issuer, /edgeca Issuing CA/);

      validator = startUnit('edgeca-validator.service').service;
      services.push(validator);
      await waitHealthy(validator, `${validatorUrl}/v1/health`);

      const port = await freePort();
      const edgeBase = `https://127.0.0.1:${port}`;
      const { service: edge, launch } = startUnit('edgeca-edge.service', { env: edgeTestEnv(port) });
      t.after(() => edge.stop());
      // the private keys come from the credentials directory, as the unit says
      assert.match(
        launch.env.EDGECA_RELAY_KEY_FILE ?? '',
        /\/credentials-edgeca-edge\.service-[^/]+\/relay-key$/,
      );
      assert.match(
        launch.env.EDGECA_TLS_KEY_FILE ?? '',
        /\/credentials-edgeca-edge\.service-[^/]+\/tls-key$/,
      );
      const fetchEdge = httpsFetch(edgeCa()) as typeof fetch;
      await waitHealthy(edge, `${edgeBase}/health`, fetchEdge);
      await waitHealthy(edge, `${edgeBase}/ready`, fetchEdge);
      const dir = await (await fetchEdge(`${edgeBase}/directory`)).json();
      assert.ok(dir.newAccount?.startsWith(`${edgeBase}/`), JSON.stringify(dir));
      assert.equal(dir.meta?.externalAccountRequired, true);
      const status = await cli([
        'status',
        '--edge',
        edgeBase,
        '--signer',
        signerUrl,
        '--validator',
        validatorUrl,
        '--ca-file',
        edgeCa(),
      ]);
      assert.match(status.stdout, /signer/i);

      // An operator's EAB key, then one certificate through the whole installed system.
      const db = `file:${join(root, 'var/lib/edgeca-edge/edge.db')}`;
      const eab = JSON.parse((await cli(['eab', 'create', '--json', '--db', db])).stdout);
      acme.axios.defaults.httpsAgent = new https.Agent({ ca: readFileSync(edgeCa()) });
      const client = new acme.Client({
        directoryUrl: `${edgeBase}/directory`,
        accountKey: await acme.crypto.createPrivateEcdsaKey(),
        externalAccountBinding: eab,
      });
      await client.createAccount({ termsOfServiceAgreed: true });
      const order = await client.createOrder({ identifiers: [{ type: 'ip', value: '127.0.0.1' }] });
      for (const authz of await client.getAuthorizations(order)) {
        const ch = authz.challenges.find((x) => x.type === 'http-01');
        assert.ok(ch);
        http01.set(ch.token, await client.getChallengeKeyAuthorization(ch));
        await client.completeChallenge(ch);
        await client.waitForValidStatus(ch);
      }
      const [, csr] = await acme.crypto.createCsr({ altNames: ['127.0.0.1'] });
      const finalized = await client.finalizeOrder(order, csr);
      const chain = await client.getCertificate(await client.waitForValidStatus(finalized));
      await verifyChain(chain, join(offline(), 'root.pem'), { purpose: 'sslserver' });
      assert.match(new X509Certificate(chain).subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
      assert.match(validator.output(), /\/v1\/validate/, 'the validator was not asked');
    });

    test('the Deno edge unit runs the package on Deno and answers /health and /directory', async (t) => {
      // Deno is not part of the package; here the repository's npm `deno` stands in for /usr/local/bin/deno.
      const deno = realpathSync(join(REPO, 'node_modules/.bin/deno'));
      symlinkSync(deno, join(root, 'usr/local/bin/deno'));
      const port = await freePort();
      const { service } = startUnit('edgeca-edge-deno.service', { env: edgeTestEnv(port) });
      t.after(() => service.stop());
      const fetchEdge = httpsFetch(edgeCa()) as typeof fetch;
      await waitHealthy(service, `https://127.0.0.1:${port}/health`, fetchEdge);
      const dir = await (await fetchEdge(`https://127.0.0.1:${port}/directory`)).json();
      assert.ok(dir.newOrder?.startsWith(`https://127.0.0.1:${port}/`), JSON.stringify(dir));
    });

    function edgeTestEnv(port: number): Record<string, string> {
      return {
        EDGECA_HOST: '127.0.0.1',
        EDGECA_PORT: String(port),
        EDGECA_BASE_URL: `https://127.0.0.1:${port}`,
        EDGECA_SIGNER_URL: signerUrl,
        EDGECA_VALIDATOR_URL: validatorUrl,
        // test only: validate 127.0.0.1 at a high port, at the edge and on-prem both
        EDGECA_ALLOW_LOOPBACK: 'true',
        EDGECA_HTTP01_PORT: String(http01.port),
        EDGECA_VALIDATION_ROUTES: JSON.stringify([{ match: '127.0.0.0/8', route: 'both' }]),
      };
    }

    after(async () => {
      for (const svc of services) await svc.stop();
      await http01?.close();
    });
  });
});
