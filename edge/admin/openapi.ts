// The admin API's OpenAPI 3.1 document, served at /admin/openapi.json, assembled from the parts
// each resource's file keeps beside its routes (resources.ts lists them).
import type { AdminOp } from './http.ts';
import { ADMIN_RESOURCES } from './resources.ts';

/** The operations index.ts itself routes (the document, and metrics behind a token). */
const OWN_OPS: AdminOp[] = [
  ['get', '/metrics', 'Prometheus metrics of this edge instance (text exposition format)'],
  ['get', '/openapi.json', 'This document'],
];

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
  ...Object.assign({}, ...ADMIN_RESOURCES.map((res) => res.api.schemas)),
};

const OPS: AdminOp[] = [...ADMIN_RESOURCES.flatMap((res) => res.api.ops), ...OWN_OPS];

export function openApiDocument(serverUrl: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const problem = {
    description: 'problem',
    content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
  };
  for (const [method, path, summary, bodyRef] of OPS) {
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
      ...(bodyRef
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: { $ref: `#/components/schemas/${bodyRef}` } } },
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
