// Property tests of strict base64url (RFC 4648 §5, RFC 8555 §6.1): one spelling per byte string,
// every other string refused with a TypeError (never another error, never a second spelling).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { b64uDecode, b64uEncode } from '../../shared/encoding.ts';
import { params } from './support.ts';

const B64U = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const b64uChars = fc.string({ unit: fc.constantFrom(...B64U, '=', '+', '/', ' ', '\n', '.', 'é') });

describe('base64url under generated input', () => {
  it('round-trips every byte string', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const s = b64uEncode(bytes);
        assert.match(s, /^[A-Za-z0-9_-]*$/);
        assert.deepEqual(b64uDecode(s), bytes);
      }),
      params(),
    );
  });

  it('decodes a string only when it is the one canonical spelling of its bytes', () => {
    fc.assert(
      fc.property(fc.oneof(b64uChars, fc.string(), fc.string({ unit: 'binary' })), (s) => {
        let bytes: Uint8Array;
        try {
          bytes = b64uDecode(s);
        } catch (e) {
          assert.ok(e instanceof TypeError, `threw ${String(e)}`);
          return;
        }
        assert.equal(b64uEncode(bytes), s, 'a decoded string is the canonical spelling');
      }),
      params(),
    );
  });
});
