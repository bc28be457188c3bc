// Runs the purge of expired rows (edge/storage/retention.ts) with the deployment's retention
// settings: on Node and Deno from a timer every EDGECA_PURGE_INTERVAL_S, on Workers from the Cron
// Trigger (wrangler.toml). Each run is bounded in time and rows per statement and logs one line;
// the rows it deleted are counted in edgeca_purged_rows_total. Instances sharing a database may
// run it at once: every step is one atomic batch, and two that pick the same rows delete them once.

import type { EdgeServices } from '../services.ts';
import {
  type PurgeRun,
  type PurgeRunOptions,
  type PurgeStep,
  purgeExpired,
  purgeSteps,
  type RetentionPolicy,
} from '../storage/retention.ts';

export function retentionPolicy(svc: Pick<EdgeServices, 'config'>): RetentionPolicy {
  return {
    expiredDays: svc.config.expiredRetentionDays,
    certificateDays: svc.config.certificateRetentionDays,
    changeLogDays: svc.config.changeLogRetentionDays,
    eventDays: svc.config.eventRetentionDays,
  };
}

/**
 * One purge run; `extraSteps` purge row kinds kept by other modules (their own retention). A run
 * already in progress on this instance is joined rather than doubled.
 */
export function runPurge(
  svc: EdgeServices,
  o: PurgeRunOptions & { extraSteps?: PurgeStep[]; trigger?: string } = {},
): Promise<PurgeRun> {
  const current = svc.purge.running;
  if (current) return current;
  const run = (async () => {
    const steps = [...purgeSteps(retentionPolicy(svc)), ...(o.extraSteps ?? [])];
    const r = await purgeExpired(svc.database.db, steps, o);
    const m = svc.metrics;
    for (const [table, n] of Object.entries(r.counts)) m.purgedRows.inc({ table }, n);
    svc.log({
      event: 'purge',
      trigger: o.trigger ?? 'call',
      purged: r.counts,
      steps: r.steps,
      unfinished: r.unfinished,
      ms: r.ms,
    });
    return r;
  })().finally(() => {
    if (svc.purge.running === run) svc.purge.running = undefined;
  });
  svc.purge.running = run;
  return run;
}

/**
 * Node and Deno: a purge every `purgeIntervalSeconds` (none when 0), the first one soon after start.
 * Returns the function that stops it. The timer does not keep the process alive.
 */
export function startPurgeTimer(svc: EdgeServices): () => void {
  const seconds = svc.config.purgeIntervalSeconds;
  if (seconds <= 0) return () => {};
  const tick = () => {
    runPurge(svc, { trigger: 'timer' }).catch((e: unknown) =>
      svc.log({ event: 'purge-error', error: e instanceof Error ? e.message : String(e) }),
    );
  };
  const first = setTimeout(tick, Math.min(seconds, 30) * 1000);
  const every = setInterval(tick, seconds * 1000);
  for (const t of [first, every]) (t as { unref?: () => void }).unref?.();
  return () => {
    clearTimeout(first);
    clearInterval(every);
  };
}
