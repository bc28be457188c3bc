// ARI building blocks: certID spelling (RFC 9773 §4.1), the default window at two thirds of the
// lifetime with a per-certificate shift, "renew now" windows, Retry-After.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AcmeProblem } from '../../shared/problems.ts';
import { issueLeaf, makeIssuer } from '../../test/support/ari.ts';
import {
  buildCertId,
  certIdOf,
  defaultWindow,
  parseCertId,
  parseKeyId,
  renewNowWindow,
  retryAfterSeconds,
  windowOf,
} from './ari.ts';

const H = 3_600_000;

describe('certID (RFC 9773 §4.1)', () => {
  it('builds base64url(AKI) "." base64url(serial) from a certificate and parses it back', async () => {
    const issuer = await makeIssuer();
    const pem = await issueLeaf(issuer, [{ type: 'dns', value: 'a.test' }], Date.now(), Date.now() + 24 * H);
    const id = certIdOf(pem);
    assert.equal(Buffer.from(id.aki).toString('hex'), issuer.keyIdHex);
    const text = buildCertId(id);
    assert.match(text, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    assert.deepEqual(parseCertId(text), id);
  });
  it("matches RFC 9773's example spelling", () => {
    // RFC 9773 §4.1 example: keyIdentifier 69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4,
    // serial 00:87:65:43:21
    const id = {
      aki: Buffer.from('69885B6B87464041E1B37B847BA0AE2CDE01C8D4', 'hex'),
      serial: Buffer.from('0087654321', 'hex'),
    };
    assert.equal(buildCertId(id), 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE');
  });
  const bad: [string, string][] = [
    ['no dot', 'aYhba4dGQEHhs3uEe6CuLN4ByNQ'],
    ['three parts', 'a.b.c'],
    ['empty serial', 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.'],
    ['empty key id', '.AIdlQyE'],
    ['padding', 'aYhba4dGQEHhs3uEe6CuLN4ByNQ=.AIdlQyE'],
    ['standard base64 characters', 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AI+lQyE'],
    ['non-zero trailing bits', 'aYhba4dGQEHhs3uEe6CuLN4ByNR.AIdlQyE'],
    ['a negative serial', 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.gA'],
    ['a serial longer than 20 octets', `aYhba4dGQEHhs3uEe6CuLN4ByNQ.${'AQ'.repeat(1)}${'AAAA'.repeat(8)}`],
  ];
  for (const [name, text] of bad) {
    it(`refuses a certID with ${name} as malformed`, () => {
      assert.throws(
        () => parseCertId(text),
        (e: unknown) => e instanceof AcmeProblem && e.kind === 'malformed',
      );
    });
  }
});

describe('suggested window', () => {
  const life = 24 * H;
  const cases: [string, number][] = [
    ['a fresh certificate', 0],
    ['a mid-life certificate', -12 * H],
    ['an expired certificate', -48 * H],
  ];
  for (const [name, offset] of cases) {
    it(`opens ${name}'s window between 2/3 and 2/3 + 1/24 of its lifetime, 1/24 long`, () => {
      const notBefore = Date.now() + offset;
      const w = defaultWindow({ notBefore, notAfter: notBefore + life, serial: `ab${offset}` });
      assert.ok(
        w.start >= notBefore + 16 * H && w.start < notBefore + 17 * H,
        `start ${w.start - notBefore}`,
      );
      assert.equal(w.end - w.start, H);
      assert.ok(w.end < notBefore + life, 'the window closes before expiry');
      if (offset === -48 * H)
        assert.ok(w.end < Date.now(), 'an expired certificate: the window lies in the past');
      else assert.ok(w.start > Date.now(), 'not yet time to renew');
    });
  }
  it('spreads a fleet issued together over the whole shift (jitter per certificate)', () => {
    const notBefore = Date.now();
    const starts = Array.from(
      { length: 200 },
      (_, i) =>
        defaultWindow({ notBefore, notAfter: notBefore + life, serial: (0x1000 + i).toString(16) }).start,
    );
    const spread = Math.max(...starts) - Math.min(...starts);
    assert.ok(spread > 0.8 * H, `spread ${spread / 60000} min`);
    assert.equal(new Set(starts).size > 150, true);
    assert.deepEqual(
      defaultWindow({ notBefore, notAfter: notBefore + life, serial: 'abcd' }),
      defaultWindow({ notBefore, notAfter: notBefore + life, serial: 'abcd' }),
      'the same certificate always gets the same window',
    );
  });
  it('lets an override (renew now) win, with the window wholly in the past', () => {
    const now = Date.now();
    const cert = { notBefore: now, notAfter: now + life, serial: '01' };
    const w = windowOf(cert, { windowStart: renewNowWindow(now).start, windowEnd: renewNowWindow(now).end });
    assert.ok(w.end < now && w.start < w.end);
    assert.deepEqual(windowOf(cert, { windowStart: null, windowEnd: null }), defaultWindow(cert));
  });
  it('asks clients to come back after 1/24 of the lifetime, within 1 min .. 6 h', () => {
    assert.equal(retryAfterSeconds({ notBefore: 0, notAfter: life }), 3600);
    assert.equal(retryAfterSeconds({ notBefore: 0, notAfter: 90 * 24 * H }), 6 * 3600);
    assert.equal(retryAfterSeconds({ notBefore: 0, notAfter: 10 * 60_000 }), 60);
  });
});

describe('issuer key id', () => {
  it('reads hex with or without colons and base64url', () => {
    const hex = '69885b6b87464041e1b37b847ba0ae2cde01c8d4';
    for (const t of [hex, hex.toUpperCase(), hex.match(/../g)!.join(':'), 'aYhba4dGQEHhs3uEe6CuLN4ByNQ']) {
      assert.equal(Buffer.from(parseKeyId(t)!).toString('hex'), hex, t);
    }
    assert.equal(parseKeyId('zz'), undefined);
  });
});
