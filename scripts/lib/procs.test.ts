// Which processes a new `npm start` takes for a supervisor still running (it then refuses to start
// a second one): the command lines npm and a person run it with, as /proc/PID/cmdline lists them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isStartCommand } from './procs.ts';

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
