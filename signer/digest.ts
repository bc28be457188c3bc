// SHA-256 for the signer's small inputs (a CSR, a certificate, an audit row): node:crypto hashes
// them synchronously in a few microseconds, where WebCrypto's digest queues a job on libuv's thread
// pool and resolves a promise for each (the signer runs on Node only; shared/ keeps WebCrypto).
import { createHash } from 'node:crypto';

/** The SHA-256 of `data` (a string is hashed as UTF-8) in lowercase hex. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}
