// The one rule for the client address (the key of per-address buckets): the connection's address,
// unless EDGECA_TRUSTED_PROXY_HEADER names the header a proxy writes; then that header's last entry.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { edgeConfigFromEnv } from '../config.ts';
import { clientAddressOf, normalizeAddress } from './client-address.ts';

const h = (o: Record<string, string>) => new Headers(o);
const conn = { remoteAddress: '::ffff:192.0.2.7' };

describe('client address', () => {
  const cases: [string, Parameters<typeof clientAddressOf>, string][] = [
    ['the connection, IPv4-mapped prefix removed', [conn, h({}), undefined], '192.0.2.7'],
    [
      'the connection, whatever forwarding headers say',
      [conn, h({ 'cf-connecting-ip': '1.1.1.1', 'x-forwarded-for': '2.2.2.2' }), undefined],
      '192.0.2.7',
    ],
    [
      '"unknown" without a connection (in-process requests)',
      [undefined, h({ 'cf-connecting-ip': '1.1.1.1' }), undefined],
      'unknown',
    ],
    [
      'the last entry of the trusted header',
      [conn, h({ 'x-forwarded-for': '10.0.0.9, 10.0.0.1' }), 'x-forwarded-for'],
      '10.0.0.1',
    ],
    [
      'the trusted header with a port',
      [conn, h({ 'x-forwarded-for': '10.0.0.1:4711' }), 'x-forwarded-for'],
      '10.0.0.1',
    ],
    [
      'a bracketed IPv6 with a port, lower-cased',
      [conn, h({ 'x-real-ip': '[2001:DB8::1]:443' }), 'x-real-ip'],
      '2001:db8::1',
    ],
    ['the connection when the trusted header is absent', [conn, h({}), 'x-forwarded-for'], '192.0.2.7'],
    [
      'the connection when the trusted header is no address',
      [conn, h({ 'x-forwarded-for': 'evil' }), 'x-forwarded-for'],
      '192.0.2.7',
    ],
  ];
  for (const [what, args, want] of cases)
    it(`is ${what}`, () => assert.equal(clientAddressOf(...args), want));

  it('accepts only IP literals as addresses', () => {
    assert.equal(normalizeAddress('300.1.1.1'), undefined);
    assert.equal(normalizeAddress('example.test'), undefined);
    assert.equal(normalizeAddress(`${'1:'.repeat(40)}1`), undefined);
    assert.equal(normalizeAddress('fe80::1%eth0'), 'fe80::1');
  });
});

describe('EDGECA_TRUSTED_PROXY_HEADER', () => {
  // The smallest environment the edge accepts: a relay key and the signer's answer key.
  const base = { EDGECA_RELAY_KEY: '{"kty":"EC"}', EDGECA_SIGNER_KEY: '{"kty":"EC","kid":"answer"}' };
  const env = (v: string) => ({ ...base, EDGECA_TRUSTED_PROXY_HEADER: v });
  it('is one header name, kept lower-case', () => {
    assert.equal(edgeConfigFromEnv(env('X-Forwarded-For')).trustedProxyHeader, 'x-forwarded-for');
    assert.equal(edgeConfigFromEnv(base).trustedProxyHeader, undefined);
  });
  it('refuses a list of headers and the Forwarded header, naming the setting', () => {
    assert.throws(
      () => edgeConfigFromEnv(env('X-Forwarded-For, X-Real-IP')),
      /EDGECA_TRUSTED_PROXY_HEADER must be one header name/,
    );
    assert.throws(() => edgeConfigFromEnv(env('Forwarded')), /Forwarded header \(RFC 7239\) is not read/);
  });
});
