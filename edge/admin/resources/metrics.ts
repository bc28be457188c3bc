// Admin API: the Prometheus text of this edge instance behind an admin token (the only way to it
// on Workers, which serve no /metrics of their own).
import { METRICS_CONTENT_TYPE } from '../../../shared/metrics.ts';
import { metricsText } from '../../observability/routes.ts';
import { type AdminResource, route } from '../resource.ts';

export const METRICS: AdminResource = {
  routes: [
    route('get', '/metrics', 'Prometheus metrics of this edge instance (text exposition format)', async (c) =>
      c.body(await metricsText(c.var.svc), 200, { 'Content-Type': METRICS_CONTENT_TYPE }),
    ),
  ],
  schemas: {},
};
