// Failover between on-prem peers of one kind (signers, or validators): the URLs in the order they
// were configured, each either up or skipped. A peer that failed (connection error, no answer in
// time, a 5xx, an answer that does not verify) is skipped for `retryAfterMs`, then tried again by
// the next call, which is its probe. Calls try the peers that are up first, in configured order,
// and the skipped ones only after every peer that is up has failed: an order never waits on a
// dead peer while a live one exists. State is per process (or isolate); each instance learns by itself.
// What this module reports (snapshot) names peers by index: URLs are internal and stay in the log.

export type PeerService = 'signer' | 'validator';

export interface Peer {
  readonly index: number;
  readonly url: string;
}

export interface PeerSnapshot {
  index: number;
  /** false while the peer is skipped after a failure */
  up: boolean;
  /** consecutive failures */
  failures: number;
  /** why it last failed (no URL, no address) */
  lastError?: string;
  /** seconds until it is tried again, while skipped */
  retryInS?: number;
}

export interface PeerPool {
  readonly service: PeerService;
  readonly size: number;
  /** the peers in the order one call tries them */
  order(): Peer[];
  failed(peer: Peer, reason: string, logDetail?: string): void;
  succeeded(peer: Peer): void;
  snapshot(): PeerSnapshot[];
}

interface State {
  failures: number;
  skippedUntil: number;
  lastError?: string;
}

export function createPeerPool(o: {
  service: PeerService;
  urls: readonly string[];
  retryAfterMs: number;
  log?: (e: Record<string, unknown>) => void;
  now?: () => number;
}): PeerPool {
  if (o.urls.length === 0) throw new Error(`no ${o.service} URL is configured`);
  const now = o.now ?? Date.now;
  const peers: Peer[] = o.urls.map((url, index) => ({ index, url }));
  const states: State[] = peers.map(() => ({ failures: 0, skippedUntil: 0 }));
  const state = (p: Peer): State => states[p.index] as State;
  return {
    service: o.service,
    size: peers.length,
    order() {
      const t = now();
      const up = peers.filter((p) => state(p).skippedUntil <= t);
      const skipped = peers
        .filter((p) => state(p).skippedUntil > t)
        .sort((a, b) => state(a).skippedUntil - state(b).skippedUntil);
      return [...up, ...skipped];
    },
    failed(peer, reason, logDetail) {
      const s = state(peer);
      const wasUp = s.skippedUntil <= now();
      s.failures++;
      s.lastError = reason;
      s.skippedUntil = now() + o.retryAfterMs;
      if (wasUp) {
        o.log?.({
          event: 'relay-peer-down',
          service: o.service,
          peer: peer.index,
          url: peer.url,
          reason,
          ...(logDetail ? { detail: logDetail } : {}),
          retryInS: Math.ceil(o.retryAfterMs / 1000),
        });
      }
    },
    succeeded(peer) {
      const s = state(peer);
      if (s.failures > 0) {
        o.log?.({ event: 'relay-peer-up', service: o.service, peer: peer.index, url: peer.url });
      }
      s.failures = 0;
      s.skippedUntil = 0;
      delete s.lastError;
    },
    snapshot() {
      const t = now();
      return peers.map((p) => {
        const s = state(p);
        const up = s.skippedUntil <= t;
        return {
          index: p.index,
          up,
          failures: s.failures,
          ...(s.lastError !== undefined ? { lastError: s.lastError } : {}),
          ...(up ? {} : { retryInS: Math.ceil((s.skippedUntil - t) / 1000) }),
        };
      });
    },
  };
}
