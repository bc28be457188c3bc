// The Node adapter of EdgeRuntime: validation's Node network (validation/node/net.ts: node:dns,
// node:http/https straight to a checked address, node:tls for tls-alpn-01), the pinned-CA fetch of
// the relay (node-pinned-fetch.ts), and background work that simply runs on.
import { createNodeNet, type NodeNetOptions } from '../../validation/node/net.ts';
import { nodePinnedFetch } from './node-pinned-fetch.ts';
import type { EdgeRuntime } from './types.ts';

export type NodeRuntimeOptions = NodeNetOptions;

export function createNodeRuntime(opts: NodeRuntimeOptions = {}): EdgeRuntime {
  return {
    ...createNodeNet(opts),
    name: 'node',
    pinnedFetch: nodePinnedFetch,
    waitUntil(work) {
      // The process keeps running; only make sure a failure is not an unhandled rejection.
      work.catch((err: unknown) => {
        console.error('background work failed:', err instanceof Error ? err.message : err);
      });
    },
  };
}
