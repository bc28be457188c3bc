// The pinned-CA fetch of the Node and Deno adapters (the relay to a signer with its own TLS CA),
// against a real HTTPS server on 127.0.0.1: a certificate from the pinned CA is accepted, one
// from another CA is refused, and a plain http:// URL is refused outright. Deno runs for real
// (node_modules/.bin/deno) on the adapter's own code.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeRelayTls, type RelayTls } from '../../signer/relay-tls.ts';
import { describeFetchError } from '../relay/exchange.ts';
import { nodePinnedFetch } from './node-pinned-fetch.ts';

const REPO = new URL('../..', import.meta.url).pathname;
const DENO = join(REPO, 'node_modules', '.bin', 'deno');
const dir = mkdtempSync(join(tmpdir(), 'edgeca-pinned-'));
let pinned: RelayTls;
let other: RelayTls;
let server: Server;
let url: string;

before(async () => {
  pinned = await makeRelayTls({ names: ['localhost', '127.0.0.1'], caName: 'pinned relay CA' });
  other = await makeRelayTls({ names: ['localhost', '127.0.0.1'], caName: 'other relay CA' });
  server = createServer({ cert: pinned.certPem, key: pinned.keyPem }, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('signer here');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/v1/health`;
});
after(async () => {
  await new Promise<void>((resolve) => {
    server?.close(() => resolve());
    server?.closeAllConnections();
  });
  rmSync(dir, { recursive: true, force: true });
});

describe('on Node', () => {
  test('accepts the certificate of the pinned CA', async () => {
    const res = await nodePinnedFetch(pinned.caPem)(url);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'signer here');
  });
  test('refuses a certificate from another CA, reported as a TLS failure without the address', async () => {
    const err = await nodePinnedFetch(other.caPem)(url).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err, 'refused');
    const reason = describeFetchError(err);
    assert.match(reason, /^TLS: /);
    assert.doesNotMatch(reason, /127\.0\.0\.1/);
  });
  test('refuses a plain http:// URL', async () => {
    await assert.rejects(
      nodePinnedFetch(pinned.caPem)(url.replace('https:', 'http:')),
      /https:\/\/ URLs only/,
    );
  });
  test('gives up when the caller aborts', async () => {
    const ctl = new AbortController();
    ctl.abort();
    await assert.rejects(nodePinnedFetch(pinned.caPem)(url, { signal: ctl.signal }), /abort/i);
  });
});

describe('on Deno', () => {
  test('accepts the pinned CA, refuses another CA and http://', { timeout: 120_000 }, async () => {
    assert.ok(existsSync(DENO), `the deno binary is missing at ${DENO}: run npm install`);
    writeFileSync(join(dir, 'pinned.pem'), pinned.caPem);
    writeFileSync(join(dir, 'other.pem'), other.caPem);
    const script = join(dir, 'probe.ts');
    writeFileSync(
      script,
      `import { createDenoRuntime } from ${JSON.stringify(join(REPO, 'edge/platform/deno.ts'))};
const rt = createDenoRuntime();
const out: Record<string, string> = {};
for (const [name, file, u] of [['pinned', 'pinned.pem', ${JSON.stringify(url)}], ['other', 'other.pem', ${JSON.stringify(url)}], ['http', 'pinned.pem', ${JSON.stringify(url.replace('https:', 'http:'))}]]) {
  try {
    const res = await rt.pinnedFetch!(Deno.readTextFileSync(${JSON.stringify(dir)} + '/' + file))(u);
    out[name] = 'HTTP ' + res.status + ' ' + (await res.text());
  } catch (e) {
    out[name] = 'refused: ' + (String(e) + ' / ' + String((e as { cause?: unknown }).cause)).slice(0, 400);
  }
}
console.log(JSON.stringify(out));
`,
    );
    // Asynchronous: the HTTPS server it talks to runs in this process.
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        DENO,
        ['run', '--no-prompt', '--allow-net=127.0.0.1', `--allow-read=${REPO},${dir}`, '--allow-env', script],
        { cwd: REPO, encoding: 'utf8', timeout: 90_000 },
        (err, stdout, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Record<string, string>;
    assert.equal(out.pinned, 'HTTP 200 signer here');
    assert.match(out.other ?? '', /^refused: .*(certificate|UnknownIssuer)/i);
    assert.match(out.http ?? '', /^refused: .*https:\/\/ URLs only/);
  });
});
