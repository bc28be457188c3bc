// The admin API's OpenAPI 3.1 document, served at /admin/openapi.json without a token, assembled
// from the admin resources (resources.ts) and this document's own route: every operation is a
// route entry (resource.ts), the same entry index.ts registers.
import { ADMIN_PREFIX } from './http.ts';
import { type AdminRoute, openApiPath, route } from './resource.ts';
import { ADMIN_RESOURCES } from './resources.ts';

/** GET /openapi.json: this document (index.ts registers it before the token check). */
export const OPENAPI_ROUTE: AdminRoute = route('get', '/openapi.json', 'This document', (c) =>
  c.json(openApiDocument(c.var.svc.config.baseUrl + ADMIN_PREFIX)),
);

const SCHEMAS = {
  Problem: {
    type: 'object',
    properties: {
      type: { type: 'string' },
      status: { type: 'integer' },
      detail: { type: 'string' },
      field: { type: 'string' },
    },
  },
  ...Object.assign({}, ...ADMIN_RESOURCES.map((res) => res.schemas)),
};

export function openApiDocument(serverUrl: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const problem = {
    description: 'problem',
    content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
  };
  const routes = [...ADMIN_RESOURCES.flatMap((res) => res.routes), OPENAPI_ROUTE];
  for (const { method, path: honoPath, summary, body } of routes) {
    const path = openApiPath(honoPath);
    const params = [...path.matchAll(/\{(\w+)\}/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    paths[path] ??= {};
    paths[path]![method] = {
      summary,
      security: [{ bearer: [method === 'get' ? 'read' : 'write'] }],
      ...(params.length ? { parameters: params } : {}),
      ...(body
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: { $ref: `#/components/schemas/${body}` } } },
            },
          }
        : {}),
      responses: {
        '200': { description: 'OK (JSON)' },
        '400': problem,
        '401': problem,
        '403': problem,
        '404': problem,
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'edgeca admin API',
      version: '1',
      description:
        'Run-time settings of the edgeca ACME edge. Bearer tokens (read: GET; write: everything). Every change is in /changes.',
    },
    servers: [{ url: serverUrl }],
    paths,
    components: { schemas: SCHEMAS, securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
  };
}
