// A webhook endpoint on 127.0.0.1 for the events tests: it keeps every delivery with whether its
// Standard Webhooks signature verifies with the endpoint's secret (known only once the admin has
// registered the endpoint, so the receiver asks for it per delivery), and answers 204, or 401 to a
// delivery that does not verify.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyWebhook } from '../../edge/events/signature.ts';

export interface Delivery {
  id: string;
  type: string;
  data: Record<string, unknown>;
  verified: boolean;
}

export interface WebhookReceiver {
  /** http://127.0.0.1:PORT/edgeca */
  url: string;
  received: Delivery[];
  close(): void;
}

/** `received` is where deliveries go (a new list by default). */
export async function startWebhookReceiver(
  secret: () => string,
  received: Delivery[] = [],
): Promise<WebhookReceiver> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString('utf8');
    });
    req.on('end', async () => {
      const id = String(req.headers['webhook-id']);
      const verified = await verifyWebhook(
        secret(),
        {
          id,
          timestamp: String(req.headers['webhook-timestamp']),
          signature: String(req.headers['webhook-signature']),
        },
        body,
      );
      const doc = JSON.parse(body) as { type: string; data: Record<string, unknown> };
      received.push({ id, type: doc.type, verified, data: doc.data });
      res.writeHead(verified ? 204 : 401).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/edgeca`,
    received,
    close() {
      server.closeAllConnections();
      server.close();
    },
  };
}
