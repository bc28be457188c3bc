// `edgeca admin webhook ...` and `edgeca admin events`: the request bodies and paths of the events
// and webhooks admin API (docs/events.md). The signing secret is printed once, by `webhook create`.
import { EVENT_TYPES } from '../edge/storage/event-catalog.ts';
import { UsageError } from './args.ts';

export interface WebhookOptions {
  target?: string | undefined;
  events?: string | undefined;
  description?: string | undefined;
  enable?: boolean | undefined;
  disable?: boolean | undefined;
  'allow-private'?: string | undefined;
  'expiry-share'?: string | undefined;
  interval?: string | undefined;
}

function eventList(text: string): string[] {
  const list = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = list.filter((x) => !(EVENT_TYPES as readonly string[]).includes(x));
  if (list.length === 0 || unknown.length > 0)
    throw new UsageError(
      `--events: ${unknown.length ? `unknown ${unknown.join(', ')}; ` : ''}give a comma-separated list of ${EVENT_TYPES.join(', ')}`,
    );
  return list;
}

export function webhookCreateBody(v: WebhookOptions): Record<string, unknown> {
  if (!v.target) throw new UsageError('webhook create needs --target https://receiver/path');
  if (!v.events) throw new UsageError(`webhook create needs --events (any of ${EVENT_TYPES.join(', ')})`);
  return {
    url: v.target,
    events: eventList(v.events),
    ...(v.description !== undefined ? { description: v.description } : {}),
  };
}

export function webhookUpdateBody(v: WebhookOptions): Record<string, unknown> {
  if (v.enable && v.disable) throw new UsageError('--enable and --disable exclude each other');
  const b: Record<string, unknown> = {
    ...(v.target !== undefined ? { url: v.target } : {}),
    ...(v.events !== undefined ? { events: eventList(v.events) } : {}),
    ...(v.description !== undefined ? { description: v.description } : {}),
    ...(v.enable ? { enabled: true } : {}),
    ...(v.disable ? { enabled: false } : {}),
  };
  if (Object.keys(b).length === 0)
    throw new UsageError(
      'webhook update needs one of --target, --events, --description, --enable, --disable',
    );
  return b;
}

export function webhookSettingsBody(v: WebhookOptions): Record<string, unknown> {
  const b: Record<string, unknown> = {};
  if (v['allow-private'] !== undefined) {
    if (!/^(true|false)$/.test(v['allow-private']))
      throw new UsageError('--allow-private must be true or false');
    b.allowPrivateTargets = v['allow-private'] === 'true';
  }
  if (v['expiry-share'] !== undefined) b.expiryWarnShare = Number(v['expiry-share']);
  if (v.interval !== undefined) b.intervalSeconds = Number(v.interval);
  if (Object.keys(b).length === 0)
    throw new UsageError('webhook settings set needs --allow-private, --expiry-share or --interval');
  return b;
}
