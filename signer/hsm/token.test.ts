// HsmToken against real SoftHSM: key generation and protection, signing (DER ECDSA, PKCS#1),
// the session pool under concurrency, configuration errors an operator can act on, and recovery
// when the sessions or the library go away, without ever retrying a refused PIN.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ecdsaDerToRaw } from '../../shared/der.ts';
import type { CaKeyType, CaSigner } from '../ca-signer.ts';
import { HsmUnavailableError } from '../ca-signer.ts';
import { makeTempTokens, sideDoor, type TempTokens } from './test-support.ts';
import { HsmConfigError, type HsmToken, openToken } from './token.ts';

const MAIN = 'edgeca-test';
const PINCHANGE = 'edgeca-pinchange';
let t: TempTokens;

before(async () => {
  t = await makeTempTokens([MAIN, PINCHANGE]);
});
after(() => t.cleanup());

const open = (extra: Partial<Parameters<typeof openToken>[0]> = {}) =>
  openToken({
    module: t.module,
    softhsmConf: t.conf,
    tokenLabel: MAIN,
    pin: t.pin,
    reconnectIntervalMs: 0,
    ...extra,
  });

async function withToken<T>(fn: (token: HsmToken) => Promise<T>, extra = {}): Promise<T> {
  const token = await open(extra);
  try {
    return await fn(token);
  } finally {
    await token.close();
  }
}

async function verifies(signer: CaSigner, data: Uint8Array, sig: Uint8Array): Promise<boolean> {
  const ec = signer.keyType.startsWith('EC');
  const alg = ec
    ? { name: 'ECDSA', namedCurve: signer.keyType === 'EC-P256' ? 'P-256' : 'P-384' }
    : { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  const key = await crypto.subtle.importKey('spki', signer.spki as BufferSource, alg, false, ['verify']);
  if (!ec) return crypto.subtle.verify('RSASSA-PKCS1-v1_5', key, sig as BufferSource, data as BufferSource);
  const size = signer.keyType === 'EC-P256' ? 32 : 48;
  const hash = signer.keyType === 'EC-P256' ? 'SHA-256' : 'SHA-384';
  return crypto.subtle.verify(
    { name: 'ECDSA', hash },
    key,
    ecdsaDerToRaw(sig, size) as BufferSource,
    data as BufferSource,
  );
}

describe('keys and signing', () => {
  const types: CaKeyType[] = ['EC-P256', 'EC-P384', 'RSA-3072'];
  for (const type of types) {
    test(`a generated ${type} key is sensitive, never extractable, and signs verifiably`, async () => {
      await withToken(async (token) => {
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
        );
        if (type.startsWith('EC')) assert.equal(info.curve, type === 'EC-P256' ? 'P-256' : 'P-384');
        else assert.equal(info.modulusBits, 3072);
        assert.match(String(info.id), /^[0-9a-f]{32}$/);
        const secret = sideDoor(t.module, MAIN).readPrivateValue(label);
        assert.equal(secret, 'CKR_ATTRIBUTE_SENSITIVE');

        const signer = await token.caSigner(label);
        assert.equal(signer.keyType, type);
        assert.deepEqual(signer.spki, await token.publicKeySpki(label));
        const data = new TextEncoder().encode(`to be signed by ${type}`);
        const sig = await signer.sign(data);
        if (type.startsWith('EC')) assert.equal(sig[0], 0x30, 'ECDSA signature is DER');
        assert.ok(await verifies(signer, data, sig));
        assert.equal(await verifies(signer, new TextEncoder().encode('other'), sig), false);
      });
    });
  }

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

  test('200 concurrent signatures over a pool of 3 sessions all verify, without blocking the event loop', async () => {
    await withToken(
      async (token) => {
        await token.generateKeyPair('busy', 'EC-P256');
        const signer = await token.caSigner('busy');
        let ticks = 0;
        const timer = setInterval(() => ticks++, 0);
        const inputs = Array.from({ length: 200 }, (_, i) => new TextEncoder().encode(`tbs ${i}`));
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
});

describe('configuration errors an operator can act on', () => {
  test('a wrong PIN is CKR_PIN_INCORRECT, reported once', async () => {
    await assert.rejects(open({ pin: 'wrong-pin' }), (e: unknown) => {
      assert.ok(e instanceof HsmConfigError);
      assert.match(e.message, /refused the PIN \(CKR_PIN_INCORRECT\)/);
      assert.doesNotMatch(e.message, /wrong-pin/);
      return true;
    });
  });

  test('an unknown token label lists the labels present', async () => {
    await assert.rejects(open({ tokenLabel: 'missing' }), (e: unknown) => {
      assert.ok(e instanceof HsmConfigError);
      assert.match(e.message, /no token labelled "missing"/);
      assert.match(e.message, new RegExp(`"${MAIN}"`));
      assert.match(e.message, new RegExp(`"${PINCHANGE}"`));
      return true;
    });
  });

  test('a missing module file says which path and how to install it', async () => {
    await assert.rejects(
      open({ module: '/nonexistent/libpkcs11.so' }),
      /\/nonexistent\/libpkcs11\.so does not exist.*softhsm2/,
    );
  });

  test('a missing token directory (CKR_GENERAL_ERROR) points at directories.tokendir', async () => {
    const other = await makeTempTokens(['x'], 'edgeca-hsm-gone-');
    try {
      other.cleanup();
      // The conf must exist for SoftHSM to read it; only its token directory is gone.
      const { mkdirSync, writeFileSync } = await import('node:fs');
      mkdirSync(other.dir, { recursive: true });
      writeFileSync(
        join(other.dir, 'softhsm2.conf'),
        `directories.tokendir = ${join(other.dir, 'tokens')}\n`,
      );
      assert.equal(existsSync(join(other.dir, 'tokens')), false);
      await assert.rejects(
        openToken({ module: other.module, softhsmConf: other.conf, tokenLabel: 'x', pin: other.pin }),
        (e: unknown) => {
          assert.ok(e instanceof HsmConfigError);
          assert.match(e.message, /CKR_GENERAL_ERROR/);
          assert.match(e.message, /tokendir/);
          assert.match(e.message, new RegExp(join(other.dir, 'tokens')));
          return true;
        },
      );
    } finally {
      other.cleanup();
    }
  });

  test('a second SoftHSM config cannot be used while the first is initialised', async () => {
    await withToken(async () => {
      await assert.rejects(open({ softhsmConf: '/etc/softhsm/softhsm2.conf' }), /already initialised/);
    });
  });
});

describe('recovery', () => {
  test('sessions closed underneath: that call is HsmUnavailableError, the next reconnects and signs', async () => {
    await withToken(async (token) => {
      await token.generateKeyPair('rec1', 'EC-P256');
      const signer = await token.caSigner('rec1');
      const data = new TextEncoder().encode('x');
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
      const data = new TextEncoder().encode('y');
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
        const data = new TextEncoder().encode('z');
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
    const token = await open({ tokenLabel: PINCHANGE });
    try {
      await token.generateKeyPair('pc', 'EC-P256');
      const signer = await token.caSigner('pc');
      const data = new TextEncoder().encode('p');
      const door = sideDoor(t.module, PINCHANGE);
      door.setPin(t.pin, 'changed-pin');
      door.closeAllSessions();
      await assert.rejects(signer.sign(data), HsmUnavailableError);
      await assert.rejects(signer.sign(data), /refused the PIN \(CKR_PIN_INCORRECT\)/);
      assert.equal(token.status().state, 'pin-rejected');
      const attempts = token.status().loginAttempts;
      for (let i = 0; i < 3; i++) await assert.rejects(signer.sign(data), /refused the PIN/);
      assert.equal(token.status().loginAttempts, attempts, 'no further login attempt');
    } finally {
      await token.close();
    }
  });
});
