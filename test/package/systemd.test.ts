// The systemd units in packaging/systemd/: `systemd-analyze verify` accepts each without printing a
// single line (it exits 0 on many warnings, so any output fails the test), `systemd-analyze
// security` rates each at most 2.0 (OK), each carries the hardening an operator expects and keeps
// secrets off its command line, and the sysusers file creates every user a unit runs as.
//
// No systemd runs as PID 1 here: verify and security work offline on a directory tree given with
// --root (`--offline=true` for security), holding the units, a copy of the host's system units
// (sysinit.target and friends) and stand-ins for the executables, whose existence verify checks.
// test/package/install.test.ts runs the units' commands from the installed package.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { requireTool } from '../support/tools.ts';
import { readUnit, UNIT_DIR, unitFiles, values } from './units.ts';

const SYSTEM_UNITS = '/usr/lib/systemd/system';
const units = unitFiles();
let root: string;

before(() => {
  requireTool('systemd-analyze', 'systemd');
  root = mkdtempSync(join(tmpdir(), 'edgeca-units-'));
  mkdirSync(join(root, 'etc/systemd/system'), { recursive: true });
  mkdirSync(join(root, 'usr/lib/systemd'), { recursive: true });
  cpSync(SYSTEM_UNITS, join(root, SYSTEM_UNITS), { recursive: true, verbatimSymlinks: true });
  for (const u of units) copyFileSync(join(UNIT_DIR, u), join(root, 'etc/systemd/system', u));
  // The drop-ins (edgeca-signer.service.d/postgresql.conf) are verified with their unit.
  for (const d of readdirSync(UNIT_DIR).filter((f) => f.endsWith('.service.d'))) {
    cpSync(join(UNIT_DIR, d), join(root, 'etc/systemd/system', d), { recursive: true });
  }
  // Every executable a unit starts or reloads with, as a stand-in (the real ones: install.test.ts).
  for (const u of units) {
    for (const key of ['ExecStart', 'ExecReload']) {
      for (const exec of values(readUnit(u), 'Service', key)) {
        const bin = exec.split(' ')[0] ?? '';
        assert.ok(bin.startsWith('/'), `${u}: ${key}= needs an absolute path`);
        mkdirSync(join(root, bin, '..'), { recursive: true });
        writeFileSync(join(root, bin), '#!/bin/sh\n');
        chmodSync(join(root, bin), 0o755);
      }
    }
  }
});
after(() => rmSync(root, { recursive: true, force: true }));

function analyze(args: string[]) {
  return spawnSync('systemd-analyze', args, { cwd: root, encoding: 'utf8', timeout: 60_000 });
}

test('packaging/systemd holds the signer, validator and edge (Node and Deno) units', () => {
  assert.deepEqual(units, [
    'edgeca-edge-deno.service',
    'edgeca-edge.service',
    'edgeca-signer.service',
    'edgeca-validator.service',
  ]);
});

describe('systemd-analyze', () => {
  for (const u of units) {
    test(`verify accepts ${u} and prints nothing`, () => {
      const r = analyze(['verify', `--root=${root}`, '--man=no', u]);
      assert.equal(`${r.stdout}${r.stderr}`.trim(), '', 'systemd-analyze verify printed warnings');
      assert.equal(r.status, 0);
    });
    test(`security rates ${u} at most 2.0`, () => {
      const r = analyze(['security', '--offline=true', `--root=${root}`, '--threshold=20', '--no-pager', u]);
      const level = /Overall exposure level for \S+: ([\d.]+)/.exec(r.stdout)?.[1];
      assert.ok(level, `no exposure level in:\n${r.stdout}${r.stderr}`);
      assert.equal(r.status, 0, `exposure ${level} is above 2.0:\n${r.stdout}`);
    });
  }

  test('verify fails the test on a warning even though it exits 0 (the check can fail)', () => {
    const bad = 'edgeca-broken.service';
    const text = readFileSync(join(UNIT_DIR, 'edgeca-signer.service'), 'utf8').replace(
      'ProtectSystem=strict',
      'ProtectSystem=stricter',
    );
    writeFileSync(join(root, 'etc/systemd/system', bad), text);
    const r = analyze(['verify', `--root=${root}`, '--man=no', bad]);
    assert.equal(r.status, 0);
    assert.match(r.stderr, /ProtectSystem|protect system/i);
    rmSync(join(root, 'etc/systemd/system', bad));
  });
});

describe('each unit', () => {
  const required: [string, RegExp][] = [
    ['NoNewPrivileges', /^yes$/],
    ['ProtectSystem', /^strict$/],
    ['ProtectHome', /^yes$/],
    ['PrivateTmp', /^yes$/],
    ['PrivateDevices', /^yes$/],
    ['Restart', /^on-failure$/],
    ['StateDirectory', /^edgeca-[a-z]+$/],
    ['User', /^edgeca-[a-z]+$/],
    ['UMask', /^0077$/],
  ];
  for (const u of units) {
    test(`${u} runs as its own user, hardened, writing only its state directory`, () => {
      const unit = readUnit(u);
      for (const [key, want] of required) {
        const got = values(unit, 'Service', key);
        assert.equal(got.length, 1, `${key}= appears ${got.length} times`);
        assert.match(got[0] as string, want, `${key}=${got[0]}`);
      }
      assert.deepEqual(values(unit, 'Service', 'ReadWritePaths'), []);
      assert.deepEqual(values(unit, 'Service', 'DynamicUser'), []);
    });
    test(`${u} keeps secrets off its command line and environment`, () => {
      const unit = readUnit(u);
      const exposed = [...values(unit, 'Service', 'ExecStart'), ...values(unit, 'Service', 'Environment')];
      for (const line of exposed) {
        assert.doesNotMatch(line, /pin|password|secret|token|hmac/i, line);
        // key files only as credentials (%d is $CREDENTIALS_DIRECTORY)
        for (const m of line.matchAll(/(\S*key\S*)=(\S+)/gi)) assert.match(m[2] as string, /^%d\//, line);
      }
    });
  }

  test('the PostgreSQL drop-in gives the store password as the credential db-password', () => {
    const dropIn = readUnit('edgeca-signer.service.d/postgresql.conf');
    assert.deepEqual(values(dropIn, 'Service', 'LoadCredential'), [
      'db-password:/etc/edgeca/credentials/db-password',
    ]);
    // and verify reads it: a bad key in it shows up as a warning
    const bad = join(root, 'etc/systemd/system/edgeca-signer.service.d/zz-bad.conf');
    writeFileSync(bad, '[Service]\nNoSuchSetting=1\n');
    const r = analyze(['verify', `--root=${root}`, '--man=no', 'edgeca-signer.service']);
    rmSync(bad);
    assert.match(r.stderr, /NoSuchSetting/);
  });

  test('the signer takes its HSM PIN as the credential hsm-pin, which signer.json names', () => {
    const unit = readUnit('edgeca-signer.service');
    assert.deepEqual(values(unit, 'Service', 'LoadCredential'), ['hsm-pin:/etc/edgeca/credentials/hsm-pin']);
    const template = JSON.parse(readFileSync(join(UNIT_DIR, '../etc/edgeca/signer.json'), 'utf8'));
    assert.equal(template.pkcs11.pinCredential, 'hsm-pin');
    assert.equal(template.pkcs11.pinFile, undefined);
    assert.equal(template.pkcs11.pinEnv, undefined);
  });

  test('only the edges may bind a privileged port, and no unit holds another capability', () => {
    for (const u of units) {
      const unit = readUnit(u);
      const caps = values(unit, 'Service', 'CapabilityBoundingSet');
      const ambient = values(unit, 'Service', 'AmbientCapabilities');
      const want = u.startsWith('edgeca-edge') ? 'CAP_NET_BIND_SERVICE' : '';
      assert.deepEqual(caps, [want], u);
      assert.deepEqual(ambient, [want], u);
    }
  });
});

test('systemd-sysusers creates every user the units run as', () => {
  requireTool('systemd-sysusers', 'systemd');
  const sysroot = join(root, 'sysusers');
  mkdirSync(join(sysroot, 'etc'), { recursive: true });
  const r = spawnSync('systemd-sysusers', [`--root=${sysroot}`, join(UNIT_DIR, 'edgeca.sysusers.conf')], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const passwd = readFileSync(join(sysroot, 'etc/passwd'), 'utf8');
  for (const u of units) {
    const [user] = values(readUnit(u), 'Service', 'User');
    const line = passwd.split('\n').find((l) => l.startsWith(`${user}:`));
    assert.ok(line, `${u}: user ${user} is not created by edgeca.sysusers.conf`);
    assert.match(line, /:\/usr\/sbin\/nologin$/, `${user} can log in`);
  }
});
