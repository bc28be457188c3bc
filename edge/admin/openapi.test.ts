// The OpenAPI document and the admin routes cannot drift apart: every route the admin app
// answers is documented with its method, and every documented operation is a route.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAdminApp } from './index.ts';
import { openApiDocument } from './openapi.ts';
import { ADMIN_RESOURCES } from './resources.ts';

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
  assert.deepEqual(
    missing,
    [],
    `routes missing from their resource's OpenAPI part (edge/admin/resources.ts): ${missing.join(', ')}`,
  );
});

test('every documented operation is an admin route', () => {
  const routes = routeOperations();
  const extra = [...documentedOperations()].filter((op) => !routes.has(op));
  assert.deepEqual(extra, [], `operations documented but not routed: ${extra.join(', ')}`);
});

test('the route list is not empty (the check above compares something)', () => {
  assert.ok(routeOperations().size > 20);
});

test('no two admin resources name the same schema, and every request body names a schema', () => {
  const names = ADMIN_RESOURCES.flatMap((r) => Object.keys(r.api.schemas));
  assert.deepEqual(
    names.filter((n, i) => names.indexOf(n) !== i),
    [],
  );
  const doc = openApiDocument('https://edge.test/admin') as {
    components: { schemas: Record<string, unknown> };
  };
  const missing = ADMIN_RESOURCES.flatMap((r) => r.api.ops)
    .map((op) => op[3])
    .filter((s): s is string => s !== undefined && !(s in doc.components.schemas));
  assert.deepEqual(missing, []);
});
