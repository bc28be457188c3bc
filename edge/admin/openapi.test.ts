// The OpenAPI document and the admin routes cannot drift apart: every route the admin app
// answers is documented with its method, and every documented operation is a route.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAdminApp } from './index.ts';
import { openApiDocument } from './openapi.ts';

const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

function routeOperations(): Set<string> {
  const ops = new Set<string>();
  for (const r of createAdminApp().routes) {
    const method = r.method.toLowerCase();
    if (!METHODS.includes(method) || r.path.includes('*')) continue;
    ops.add(`${method} ${r.path.replace(/:(\w+)/g, '{$1}')}`);
  }
  return ops;
}

function documentedOperations(): Set<string> {
  const doc = openApiDocument('https://edge.test/admin') as {
    paths: Record<string, Record<string, unknown>>;
  };
  const ops = new Set<string>();
  for (const [path, byMethod] of Object.entries(doc.paths))
    for (const method of Object.keys(byMethod)) ops.add(`${method} ${path}`);
  return ops;
}

test('every admin route is in the OpenAPI document', () => {
  const documented = documentedOperations();
  const missing = [...routeOperations()].filter((op) => !documented.has(op));
  assert.deepEqual(missing, [], `routes missing from edge/admin/openapi.ts: ${missing.join(', ')}`);
});

test('every documented operation is an admin route', () => {
  const routes = routeOperations();
  const extra = [...documentedOperations()].filter((op) => !routes.has(op));
  assert.deepEqual(extra, [], `operations documented but not routed: ${extra.join(', ')}`);
});

test('the route list is not empty (the check above compares something)', () => {
  assert.ok(routeOperations().size > 20);
});
