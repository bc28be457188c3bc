// What differs between runtimes (Node, Deno, Workers), behind one interface (invariant 4 in docs/architecture.md).
// Everything else in edge/ receives an EdgeRuntime and never asks which runtime it is on. The network
// that validation needs is validation/net.ts's part of it, shared with the on-prem validator.
import type { ValidationNet } from '../../validation/net.ts';

export interface EdgeRuntime extends ValidationNet {
  readonly name: 'node' | 'deno' | 'workers';
  /**
   * A fetch that trusts ONLY the given CA (PEM) for https URLs: the relay to the signer with a
   * pinned CA. Absent where the runtime cannot do it (Workers: docs/runtimes.md).
   */
  pinnedFetch?(caPem: string): typeof fetch;
  /** keep background work alive past the response (Workers' waitUntil); Node/Deno just let it run */
  waitUntil(work: Promise<unknown>): void;
}
