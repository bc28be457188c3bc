// Which processes a new `npm start` takes for a supervisor still running (it then refuses to start
// a second one): the command lines npm and a person run it with, as /proc/PID/cmdline lists them.
// And what npm start says when a service does not become healthy.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { isStartCommand, waitHealthy } from './procs.ts';

const cases: { argv: string[]; start: boolean }[] = [
  { argv: ['node', 'scripts/bootstrap.mjs', 'start'], start: true },
  { argv: ['/usr/bin/node', '/home/me/edgeca/scripts/bootstrap.mjs', 'start'], start: true },
  { argv: ['node', '--import', 'tsx', 'scripts/start.ts'], start: true },
  { argv: ['node', 'scripts/bootstrap.mjs', 'test', 'start'], start: false },
  { argv: ['node', 'scripts/bootstrap.mjs', 'test'], start: false },
  { argv: ['node', '/repo/bin/edgeca.mjs', 'signer', 'serve'], start: false },
  { argv: ['node', 'scripts/start.test.ts'], start: false },
];

for (const c of cases) {
  test(`${c.argv.join(' ')} is ${c.start ? '' : 'not '}an npm start supervisor`, () => {
    assert.equal(isStartCommand(c.argv), c.start);
  });
}

test('waitHealthy: nothing once the URL answers 200; else a reason naming the service, the URL and the last answer', async () => {
  let status = 503;
  const server = createServer((_req, res) => void res.writeHead(status).end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`;
  try {
    const running = { name: 'signer-1', running: true };
    const slow = await waitHealthy(url, running, { timeoutMs: 2000, intervalMs: 20 });
    assert.match(
      slow ?? '',
      /^signer-1 healthy at http:\/\/127\.0\.0\.1:\d+\/health: not ready .*last: HTTP 503\b/,
    );
    const gone = await waitHealthy(url, { name: 'edge', running: false }, { timeoutMs: 5000 });
    assert.match(gone ?? '', /edge exited before it became healthy/);
    status = 200;
    assert.equal(await waitHealthy(url, running, { timeoutMs: 5000, intervalMs: 20 }), undefined);
  } finally {
    await new Promise((r) => server.close(r));
  }
});
