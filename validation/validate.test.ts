import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConnectError, DnsError, type ValidationNet } from './net.ts';
import type { ChallengeType } from './registry.ts';
import { keyAuthorization, validateChallenge, validationOptions } from './validate.ts';

/** A runtime whose every call fails with the given error: validateChallenge must still answer. */
function failingRuntime(err: unknown): ValidationNet {
  const fail = () => Promise.reject(err);
  return {
    name: 'node',
    dns: { resolveTxt: fail, resolve4: fail, resolve6: fail },
    httpGet: fail,
    tlsAlpn: { peerCertificate: fail },
  };
}

/** Resolves every name to 192.0.2.1 (TEST-NET-1) and fails the connection itself. */
function resolvingRuntime(connectErr: unknown): ValidationNet {
  return {
    ...failingRuntime(connectErr),
    dns: {
      resolve4: async () => ['192.0.2.1'],
      resolve6: () => Promise.reject(new DnsError('NODATA', 'none')),
      resolveTxt: () => Promise.reject(connectErr),
    },
  };
}

const opts = validationOptions({ timeoutMs: 1000 });
const input = (type: ChallengeType) => ({
  type,
  identifier: { type: 'dns' as const, value: 'a.test' },
  token: 'tok',
  keyAuthorization: keyAuthorization('tok', 'thumb'),
});

describe('validateChallenge never throws', () => {
  const cases: Array<{ name: string; rt: ValidationNet; type: ChallengeType; kind: string }> = [
    {
      name: 'http-01 with a DNS timeout is dns',
      rt: failingRuntime(new DnsError('TIMEOUT', 't')),
      type: 'http-01',
      kind: 'dns',
    },
    {
      name: 'http-01 with a refused connection is connection',
      rt: resolvingRuntime(new ConnectError('REFUSED', 'r')),
      type: 'http-01',
      kind: 'connection',
    },
    {
      name: 'http-01 with a bug in the runtime is connection, not serverInternal',
      rt: resolvingRuntime(new TypeError('boom')),
      type: 'http-01',
      kind: 'connection',
    },
    {
      name: 'dns-01 with a SERVFAIL is dns',
      rt: failingRuntime(new DnsError('SERVFAIL', 's')),
      type: 'dns-01',
      kind: 'dns',
    },
    {
      name: 'dns-01 with a bug in the runtime is connection',
      rt: failingRuntime(new RangeError('boom')),
      type: 'dns-01',
      kind: 'connection',
    },
    {
      name: 'tls-alpn-01 with a TLS failure is tls',
      rt: resolvingRuntime(new ConnectError('TLS', 'alert')),
      type: 'tls-alpn-01',
      kind: 'tls',
    },
    {
      name: 'tls-alpn-01 with a thrown non-Error is connection',
      rt: resolvingRuntime('weird'),
      type: 'tls-alpn-01',
      kind: 'connection',
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const result = await validateChallenge(c.rt, input(c.type), opts);
      assert.equal(result.status, 'invalid');
      assert.equal(result.status === 'invalid' && result.problem.kind, c.kind);
      assert.deepEqual(result.status === 'invalid' && result.problem.identifier, {
        type: 'dns',
        value: 'a.test',
      });
    });
  }

  it('does not leak an internal error message into the problem detail', async () => {
    const result = await validateChallenge(
      resolvingRuntime(new Error('secret internal path /etc/x')),
      input('http-01'),
      opts,
    );
    assert.equal(result.status, 'invalid');
    assert.doesNotMatch(result.status === 'invalid' ? result.problem.message : '', /secret/);
  });

  it('answers an unknown challenge type with malformed', async () => {
    const result = await validateChallenge(
      failingRuntime(new Error('x')),
      { ...input('http-01'), type: 'tkauth-01' as ChallengeType },
      opts,
    );
    assert.equal(result.status === 'invalid' && result.problem.kind, 'malformed');
  });

  it('names the address and port it dialled in a timeout detail', async () => {
    const result = await validateChallenge(
      resolvingRuntime(new ConnectError('TIMEOUT', 't')),
      input('http-01'),
      opts,
    );
    assert.match(result.status === 'invalid' ? result.problem.message : '', /^192\.0\.2\.1:80: Timeout/);
  });
});

describe('keyAuthorization', () => {
  it('joins token and thumbprint with a dot (RFC 8555 §8.1)', () => {
    assert.equal(
      keyAuthorization(
        'evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA',
        'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs',
      ),
      'evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs',
    );
  });
});
