// The HsmToken tests, written once and run against every PKCS#11 module we support (SoftHSM in
// signer/hsm/token.test.ts, a TPM 2.0 through tpm2-pkcs11 in signer/hsm/tpm.test.ts): key
// generation and protection, signing (DER ECDSA, PKCS#1), the session pool under concurrency and
// its bounded queue, login once per token, configuration errors an operator can act on, and
// recovery when the sessions or the library go away, without ever retrying a refused PIN.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ecdsaDerToRaw } from '../../shared/der.ts';
import { keyTypeRow } from '../../shared/key-types.ts';
import type { CaSigner } from '../../signer/ca-signer.ts';
import { HsmUnavailableError } from '../../signer/ca-signer.ts';
import {
  HsmBusyError,
  HsmConfigError,
  type HsmToken,
  type OpenTokenOptions,
  openToken,
} from '../../signer/hsm/token.ts';
import { buildCaCertificate } from '../../signer/x509/ca.ts';
import { sideDoor, type TestTokens } from './hsm-tokens.ts';
import { createSoftwareCaSigner } from './software-ca-signer.ts';

export const MAIN = 'edgeca-test';
export const SECOND = 'edgeca-second';

export interface TokenSource {
  /** tokens labelled MAIN and SECOND, shared by the tests that refuse no PIN */
  shared(): Promise<TestTokens>;
  /**
   * Fresh tokens for a test that makes the token refuse a PIN: a TPM counts every refusal
   * towards its lockout, so such a test gets a device of its own.
   */
  fresh(labels: string[]): Promise<TestTokens>;
}

export async function verifies(signer: CaSigner, data: Uint8Array, sig: Uint8Array): Promise<boolean> {
  const row = keyTypeRow(signer.keyType);
  const alg =
    row.family === 'EC'
      ? { name: 'ECDSA', namedCurve: row.curve }
      : { name: 'RSASSA-PKCS1-v1_5', hash: row.hash };
  const key = await crypto.subtle.importKey('spki', signer.spki as BufferSource, alg, false, ['verify']);
  if (row.family === 'RSA')
    return crypto.subtle.verify('RSASSA-PKCS1-v1_5', key, sig as BufferSource, data as BufferSource);
  return crypto.subtle.verify(
    { name: 'ECDSA', hash: row.hash },
    key,
    ecdsaDerToRaw(sig, Math.ceil(row.bits / 8)) as BufferSource,
    data as BufferSource,
  );
}

const bytes = (s: string) => new TextEncoder().encode(s);

export function tokenSuite(source: TokenSource): void {
  let t: TestTokens;
  before(async () => {
    t = await source.shared();
  });
  after(() => t?.cleanup());

  const optionsFor = (tokens: TestTokens, extra: Partial<OpenTokenOptions> = {}): OpenTokenOptions => ({
    module: tokens.module,
    ...tokens.settings,
    tokenLabel: MAIN,
    pin: tokens.pin,
    reconnectIntervalMs: 0,
    ...extra,
  });
  const open = (extra: Partial<OpenTokenOptions> = {}) => openToken(optionsFor(t, extra));

  async function withToken<T>(fn: (token: HsmToken) => Promise<T>, extra: Partial<OpenTokenOptions> = {}) {
    const token = await open(extra);
    try {
      return await fn(token);
    } finally {
      await token.close();
    }
  }

  /** Runs `fn` on fresh tokens of their own (see TokenSource.fresh), cleaned up after. */
  async function withFresh(labels: string[], fn: (tokens: TestTokens) => Promise<void>): Promise<void> {
    const tokens = await source.fresh(labels);
    try {
      await fn(tokens);
    } finally {
      await tokens.cleanup();
    }
  }

  describe('keys and signing', () => {
    test('each CA key type the module generates is sensitive, never extractable, and signs verifiably', async () => {
      await withToken(async (token) => {
        for (const type of t.keyTypes) {
          const label = `key-${type}`;
          await token.generateKeyPair(label, type);
          const info = await token.keyInfo(label);
          assert.deepEqual(
            {
              class: info.class,
              label: info.label,
              token: info.token,
              private: info.private,
              sensitive: info.sensitive,
              extractable: info.extractable,
              alwaysSensitive: info.alwaysSensitive,
              neverExtractable: info.neverExtractable,
              sign: info.sign,
              caKeyType: info.caKeyType,
            },
            {
              class: 'privateKey',
              label,
              token: true,
              private: true,
              sensitive: true,
              extractable: false,
              alwaysSensitive: true,
              neverExtractable: true,
              sign: true,
              caKeyType: type,
            },
            type,
          );
          if (type.startsWith('EC')) assert.equal(info.curve, type === 'EC-P256' ? 'P-256' : 'P-384');
          else assert.equal(info.modulusBits, Number(type.slice(4)));
          assert.match(String(info.id), /^[0-9a-f]{32}$/);
          assert.equal(sideDoor(t.module, MAIN).readPrivateValue(label), t.secretRefusal);

          const signer = await token.caSigner(label, type);
          assert.equal(signer.keyType, type);
          assert.deepEqual(signer.spki, await token.publicKeySpki(label));
          const data = bytes(`to be signed by ${type}`);
          const sig = await signer.sign(data);
          if (type.startsWith('EC')) assert.equal(sig[0], 0x30, 'ECDSA signature is DER');
          assert.ok(await verifies(signer, data, sig), type);
          assert.equal(await verifies(signer, bytes('other'), sig), false);
        }
      });
    });

    test('refuses to generate over an existing label and names a missing key', async () => {
      await withToken(async (token) => {
        await token.generateKeyPair('dup', 'EC-P256');
        await assert.rejects(token.generateKeyPair('dup', 'EC-P384'), (e: unknown) => {
          assert.ok(e instanceof HsmConfigError);
          assert.match(e.message, /already holds an object labelled "dup"/);
          return true;
        });
        await assert.rejects(token.caSigner('nope'), /no private key labelled "nope"/);
        await assert.rejects(token.keyInfo('nope'), HsmConfigError);
      });
    });

    test('a key found by label but of another type than ca.keyType is refused, naming both', async () => {
      await withToken(async (token) => {
        await token.generateKeyPair('typed', 'EC-P256');
        await assert.rejects(token.caSigner('typed', 'EC-P384'), (e: unknown) => {
          assert.ok(e instanceof HsmConfigError);
          assert.match(e.message, /"typed" in token "edgeca-test" is EC-P256, but ca\.keyType is EC-P384/);
          return true;
        });
        assert.equal((await token.caSigner('typed', 'EC-P256')).keyType, 'EC-P256');
      });
    });

    test('a label that names a certificate, not a private key, is refused saying what it names', async () => {
      const ca = await createSoftwareCaSigner('EC-P256');
      const now = Date.now();
      const der = await buildCaCertificate({
        subject: 'CN=Not A Key',
        subjectSpki: ca.spki,
        signer: ca,
        notBefore: new Date(now),
        notAfter: new Date(now + 86_400_000),
      });
      await withToken(async (token) => {
        sideDoor(t.module, MAIN).storeCertificate('cert-not-key', der);
        await assert.rejects(token.caSigner('cert-not-key', 'EC-P256'), (e: unknown) => {
          assert.ok(e instanceof HsmConfigError);
          assert.match(
            e.message,
            /that label names a certificate, not a private key \(fix pkcs11\.keyLabel\)/,
          );
          return true;
        });
      });
    });

    test('200 concurrent signatures over a pool of 3 sessions all verify, without blocking the event loop', async () => {
      await withToken(
        async (token) => {
          await token.generateKeyPair('busy', 'EC-P256');
          const signer = await token.caSigner('busy');
          let ticks = 0;
          const timer = setInterval(() => ticks++, 0);
          const inputs = Array.from({ length: 200 }, (_, i) => bytes(`tbs ${i}`));
          const sigs = await Promise.all(inputs.map((d) => signer.sign(d)));
          clearInterval(timer);
          const ok = await Promise.all(sigs.map((s, i) => verifies(signer, inputs[i] as Uint8Array, s)));
          assert.ok(ok.every(Boolean));
          assert.ok(ticks > 0, 'timers ran while the token signed');
          assert.equal(token.status().sessions, 3);
        },
        { sessions: 3 },
      );
    });

    test('with every session busy and no queue wait, a signature is refused at once as busy (503), not queued', async () => {
      await withToken(
        async (token) => {
          await token.generateKeyPair('queue0', 'EC-P256');
          const signer = await token.caSigner('queue0');
          // The first call takes the only session before it yields; the second finds none free.
          const first = signer.sign(bytes('first'));
          const second = signer.sign(bytes('second'));
          await assert.rejects(second, (e: unknown) => {
            assert.ok(e instanceof HsmBusyError);
            assert.ok(
              e instanceof HsmUnavailableError,
              'answered like an unavailable HSM: 503 + Retry-After',
            );
            assert.match(e.message, /all 1 session\(s\) of token "edgeca-test" stayed busy for 0 ms/);
            return true;
          });
          assert.ok(await verifies(signer, bytes('first'), await first));
          assert.equal(token.status().state, 'ready', 'a busy token is not a lost one');
        },
        { sessions: 1, queueTimeoutMs: 0 },
      );
    });

    test('with a queue wait, callers beyond the pool wait their turn and all sign', async () => {
      await withToken(
        async (token) => {
          await token.generateKeyPair('queued', 'EC-P256');
          const signer = await token.caSigner('queued');
          const sigs = await Promise.all([1, 2, 3, 4, 5].map((i) => signer.sign(bytes(`q${i}`))));
          for (const [i, s] of sigs.entries()) assert.ok(await verifies(signer, bytes(`q${i + 1}`), s));
          assert.equal(token.status().queued, 0);
        },
        { sessions: 1, queueTimeoutMs: 60_000 },
      );
    });

    test('a second HsmToken on a token this process is logged in to makes no second C_Login', async () => {
      await withToken(async (first) => {
        await first.generateKeyPair('shared-login', 'EC-P256');
        const second = await open();
        try {
          assert.equal(first.status().loginAttempts, 1);
          assert.equal(second.status().loginAttempts, 0, 'login is per token: already logged in');
          const signer = await second.caSigner('shared-login');
          assert.ok(await verifies(signer, bytes('s'), await signer.sign(bytes('s'))));
        } finally {
          await second.close();
        }
        const signer = await first.caSigner('shared-login');
        assert.ok(await verifies(signer, bytes('f'), await signer.sign(bytes('f'))));
      });
    });
  });

  describe('configuration errors an operator can act on', () => {
    test('a wrong PIN is CKR_PIN_INCORRECT, tried once, and never shown', async () => {
      await withFresh([MAIN], async (fresh) => {
        await assert.rejects(openToken(optionsFor(fresh, { pin: 'wrong-pin' })), (e: unknown) => {
          assert.ok(e instanceof HsmConfigError);
          assert.match(e.message, /refused the PIN \(CKR_PIN_INCORRECT\); not retrying/);
          assert.doesNotMatch(e.message, /wrong-pin/);
          return true;
        });
        // Where the device counts failed authorisations, it saw exactly one.
        if (fresh.authFailures) assert.equal(await fresh.authFailures(), 1);
        // The right PIN still works: nothing was locked by a retry.
        const token = await openToken(optionsFor(fresh));
        assert.equal(token.status().loginAttempts, 1);
        await token.close();
      });
    });

    test('an unknown token label lists the labels present', async () => {
      await assert.rejects(open({ tokenLabel: 'missing' }), (e: unknown) => {
        assert.ok(e instanceof HsmConfigError);
        assert.match(e.message, /no token labelled "missing"/);
        assert.match(e.message, new RegExp(`"${MAIN}"`));
        assert.match(e.message, new RegExp(`"${SECOND}"`));
        return true;
      });
    });

    test('a missing module file says which path and how to install it', async () => {
      await assert.rejects(
        open({ module: '/nonexistent/libpkcs11.so' }),
        /\/nonexistent\/libpkcs11\.so does not exist.*softhsm2.*libtpm2-pkcs11-1/,
      );
    });

    test('another module environment cannot be used while the module is initialised', async () => {
      await withToken(async () => {
        await assert.rejects(
          open({ env: { TOKEN_SUITE_OTHER_SETTING: '1' } }),
          /already initialised in this process/,
        );
      });
    });
  });

  describe('recovery', () => {
    test('sessions closed underneath: that call is HsmUnavailableError, the next reconnects and signs', async () => {
      await withToken(async (token) => {
        await token.generateKeyPair('rec1', 'EC-P256');
        const signer = await token.caSigner('rec1');
        const data = bytes('x');
        await signer.sign(data);
        assert.equal(token.status().loginAttempts, 1);
        sideDoor(t.module, MAIN).closeAllSessions();
        await assert.rejects(signer.sign(data), HsmUnavailableError);
        assert.equal(token.status().state, 'unavailable');
        assert.ok(await verifies(signer, data, await signer.sign(data)));
        assert.equal(token.status().state, 'ready');
        assert.equal(token.status().loginAttempts, 2);
      });
    });

    test('the library finalised underneath (HSM client restart) is re-initialised on a later call', async () => {
      await withToken(async (token) => {
        await token.generateKeyPair('rec2', 'EC-P384');
        const signer = await token.caSigner('rec2');
        const data = bytes('y');
        sideDoor(t.module, MAIN).finalize();
        await assert.rejects(signer.sign(data), (e: unknown) => {
          assert.ok(e instanceof HsmUnavailableError);
          assert.match(e.message, /CKR_CRYPTOKI_NOT_INITIALIZED/);
          return true;
        });
        assert.ok(await verifies(signer, data, await signer.sign(data)));
      });
    });

    test('reconnect attempts are spaced by reconnectIntervalMs', async () => {
      await withToken(
        async (token) => {
          await token.generateKeyPair('rec3', 'EC-P256');
          const signer = await token.caSigner('rec3');
          const data = bytes('z');
          sideDoor(t.module, MAIN).closeAllSessions();
          await assert.rejects(signer.sign(data), HsmUnavailableError); // loses the connection
          await signer.sign(data); // first reconnect: allowed at once
          sideDoor(t.module, MAIN).closeAllSessions();
          await assert.rejects(signer.sign(data), HsmUnavailableError);
          await assert.rejects(signer.sign(data), /next reconnect in \d+ ms/);
          assert.equal(token.status().loginAttempts, 2);
        },
        { reconnectIntervalMs: 60_000 },
      );
    });

    test('a PIN refused on re-login is never retried', async () => {
      await withFresh([MAIN], async (fresh) => {
        const token = await openToken(optionsFor(fresh));
        try {
          await token.generateKeyPair('pc', 'EC-P256');
          const signer = await token.caSigner('pc');
          const data = bytes('p');
          const door = sideDoor(fresh.module, MAIN);
          door.setPin(fresh.pin, 'changed-pin');
          door.closeAllSessions();
          await assert.rejects(signer.sign(data), HsmUnavailableError);
          await assert.rejects(signer.sign(data), /refused the PIN \(CKR_PIN_INCORRECT\)/);
          assert.equal(token.status().state, 'pin-rejected');
          const attempts = token.status().loginAttempts;
          for (let i = 0; i < 3; i++) await assert.rejects(signer.sign(data), /refused the PIN/);
          assert.equal(token.status().loginAttempts, attempts, 'no further login attempt');
          if (fresh.authFailures) assert.equal(await fresh.authFailures(), 1);
        } finally {
          await token.close();
        }
      });
    });
  });
}
