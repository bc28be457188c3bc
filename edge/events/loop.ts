// The events run on a timer, for the runtimes that have a long-lived process (Node, Deno). Workers
// has no timer outside a request: its Cron Trigger calls runEvents instead (edge/main/workers.ts).
// The interval is read from the events settings before each wait, so an admin's change applies
// from the next run on.
import type { EdgeServices } from '../services.ts';
import { runEvents } from './delivery.ts';
import { eventSettingsOf } from './settings.ts';

/** Starts the loop; the returned function stops it (and waits for a run under way). */
export function startEventLoop(svc: EdgeServices): () => Promise<void> {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> = Promise.resolve();
  const schedule = async () => {
    let seconds = 60;
    try {
      seconds = (await eventSettingsOf(svc)).intervalSeconds;
    } catch {
      // the database is away: try again after the default interval
    }
    if (stopped) return;
    timer = setTimeout(tick, seconds * 1000);
    // a waiting timer must not keep a process alive that is otherwise done
    (timer as { unref?: () => void }).unref?.();
  };
  const tick = () => {
    running = runEvents(svc)
      .then(
        (r) => {
          if (r.expiring || r.queued || r.delivered || r.retrying || r.dead)
            svc.log({ event: 'events-run', ...r });
        },
        (e: unknown) => svc.log({ event: 'events-run-error', error: String(e) }),
      )
      .then(schedule);
  };
  void schedule();
  return async () => {
    stopped = true;
    clearTimeout(timer);
    await running;
  };
}
