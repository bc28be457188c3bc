// The OpenAPI document and the admin routes cannot drift apart: every route the real admin app
// answers (read from Hono's own route table, whatever registered it) is documented with its method,
// and every documented operation is a route of that app.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Hono } from 'hono';
import type { AdminEnv } from './http.ts';
import { createAdminApp } from './index.ts';
import { openApiDocument } from './openapi.ts';
import { ADMIN_RESOURCES } from './resources.ts';

const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

/** "method /path/{param}" of every route of the app; middleware and the catch-all 404 (ALL *) left out. */
function routeOperations(app: Hono<AdminEnv>): Set<string> {
  const ops = new Set<string>();
  for (const r of app.routes) {
    if (r.method === 'ALL' && (r.path === '*' || r.path === '/*')) continue;
    ops.add(`${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, '{$1}')}`);
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

const undocumented = (app: Hono<AdminEnv>) => {
  const documented = documentedOperations();
  return [...routeOperations(app)].filter((op) => !documented.has(op));
};

const unrouted = (app: Hono<AdminEnv>) => {
  const routes = routeOperations(app);
  return [...documentedOperations()].filter((op) => !routes.has(op));
};

test('every admin route is in the OpenAPI document', () => {
  const missing = undocumented(createAdminApp());
  assert.deepEqual(
    missing,
    [],
    `routes without an OpenAPI entry (register routes through a resource in edge/admin/resources.ts): ${missing.join(', ')}`,
  );
});

test('every documented operation is an admin route', () => {
  const extra = unrouted(createAdminApp());
  assert.deepEqual(extra, [], `operations documented but not routed: ${extra.join(', ')}`);
});

test('a route added to the app beside the resources is reported, whatever its method', () => {
  const before = new Set(undocumented(createAdminApp()));
  const app = createAdminApp();
  app.get('/undocumented/:id', (c) => c.text('x'));
  app.all('/anything', (c) => c.text('x'));
  assert.deepEqual(
    undocumented(app).filter((op) => !before.has(op)),
    ['get /undocumented/{id}', 'all /anything'],
  );
});

test('the route list is not empty and only documentable methods are routed', () => {
  const ops = [...routeOperations(createAdminApp())];
  assert.ok(ops.length > 20, `${ops.length} routes`);
  assert.deepEqual(
    ops.filter((op) => !METHODS.includes(op.split(' ')[0]!)),
    [],
  );
});

test('no two admin resources name the same schema, and every request body names a schema', () => {
  const names = ADMIN_RESOURCES.flatMap((r) => Object.keys(r.schemas));
  assert.deepEqual(
    names.filter((n, i) => names.indexOf(n) !== i),
    [],
  );
  const doc = openApiDocument('https://edge.test/admin') as {
    components: { schemas: Record<string, unknown> };
  };
  const missing = ADMIN_RESOURCES.flatMap((r) => r.routes)
    .map((route) => route.body)
    .filter((s): s is string => s !== undefined && !(s in doc.components.schemas));
  assert.deepEqual(missing, []);
});
