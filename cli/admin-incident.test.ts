// The command line of `edgeca admin revoke-bulk` and `blocked-keys add`: what becomes the request
// body, and the errors that say what to fix before anything is sent.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { blockKeyBody, bulkRevokeBody, parsePast, parseReason } from './admin-incident.ts';

describe('admin incident commands', () => {
  it('reads a reason by RFC 5280 name in any spelling, or by number', () => {
    assert.equal(parseReason('keyCompromise'), 1);
    assert.equal(parseReason('key-compromise'), 1);
    assert.equal(parseReason('CessationOfOperation'), 5);
    assert.equal(parseReason('4'), 4);
    assert.throws(() => parseReason('stolen'), /not a reason; use one of 0\/unspecified, 1\/keycompromise/);
  });

  it('reads a time as a date-time or as "that long ago"', () => {
    const before = Date.now();
    const t = Date.parse(parsePast('2h', '--issued-after'));
    assert.ok(Math.abs(before - 2 * 3_600_000 - t) < 5000);
    assert.equal(parsePast('2030-01-01T10:00:00Z', '--issued-before'), '2030-01-01T10:00:00Z');
    assert.throws(() => parsePast('yesterday', '--issued-after'), /--issued-after: "yesterday" is neither/);
  });

  it('builds the bulk revocation body from combined selectors', () => {
    assert.deepEqual(
      bulkRevokeBody({
        account: 'acc1',
        pattern: '.x.test',
        spki: 'ab',
        reason: 'superseded',
        limit: '10',
        'dry-run': true,
      }),
      { account: 'acc1', spkiSha256: 'ab', pattern: '.x.test', reason: 4, limit: 10, dryRun: true },
    );
  });

  it('refuses a bulk revocation without a selector or a reason, naming what to add', () => {
    assert.throws(() => bulkRevokeBody({ reason: '1' }), /needs a selector: --account, --spki, --pattern/);
    assert.throws(() => bulkRevokeBody({ account: 'a' }), /needs --reason/);
    assert.throws(() => bulkRevokeBody({ account: 'a', reason: '1', limit: 'many' }), /--limit/);
  });

  it('blocks a key given by hash, JWK file or PEM file, exactly one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgeca-cli-'));
    try {
      writeFileSync(join(dir, 'k.json'), '{"kty":"EC","crv":"P-256","x":"x","y":"y"}');
      writeFileSync(join(dir, 'k.pem'), '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n');
      writeFileSync(join(dir, 'bad.json'), 'not json');
      assert.deepEqual(blockKeyBody({ spki: 'ab', note: 'n' }), { note: 'n', spkiSha256: 'ab' });
      assert.deepEqual(blockKeyBody({ 'jwk-file': join(dir, 'k.json') }), {
        jwk: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' },
      });
      assert.match(String(blockKeyBody({ 'pem-file': join(dir, 'k.pem') }).pem), /BEGIN PUBLIC KEY/);
      assert.throws(() => blockKeyBody({}), /exactly one of --spki/);
      assert.throws(() => blockKeyBody({ spki: 'a', 'pem-file': 'x' }), /exactly one of --spki/);
      assert.throws(() => blockKeyBody({ 'jwk-file': join(dir, 'bad.json') }), /is not a JSON JWK/);
      assert.throws(() => blockKeyBody({ 'pem-file': join(dir, 'missing.pem') }), /cannot read/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
