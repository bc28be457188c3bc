// A tiny tls-alpn-01 responder on 127.0.0.1 for tests (RFC 8737): speaks ALPN "acme-tls/1" and
// presents, per SNI, the validation certificate an ACME client made (acme-client's
// createAlpnCertificate). Unknown names get no certificate, so the handshake fails.
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';

export interface TlsAlpnServer {
  port: number;
  set(servername: string, keyPem: string | Buffer, certPem: string | Buffer): void;
  remove(servername: string): void;
  close(): Promise<void>;
}

export async function startTlsAlpnServer(port = 0): Promise<TlsAlpnServer> {
  const contexts = new Map<string, tls.SecureContext>();
  const server = tls.createServer(
    {
      ALPNProtocols: ['acme-tls/1'],
      SNICallback: (name, cb) => {
        const ctx = contexts.get(name.toLowerCase());
        if (ctx) cb(null, ctx);
        else cb(new Error(`no validation certificate for ${name}`));
      },
    },
    (socket) => socket.end(),
  );
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    set: (name, key, cert) => void contexts.set(name.toLowerCase(), tls.createSecureContext({ key, cert })),
    remove: (name) => void contexts.delete(name.toLowerCase()),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
