// The admin API's OpenAPI 3.1 document, served at /admin/openapi.json. Built from one table of
// operations so the document and the routes are reviewed side by side.
import { EKUS, IDENTIFIER_TYPES, LEAF_KEY_TYPES, LIMIT_NAMES } from '../storage/settings.ts';
import { MAX_ACCOUNTS_LIMIT } from './eab-limits.ts';
import { INCIDENT_OPS, INCIDENT_SCHEMAS } from './incident-routes.ts';

type Op = [method: string, path: string, summary: string, body?: string];

const OPS: Op[] = [
  ['get', '/policies', 'List the name policies of every scope'],
  ['get', '/policies/{scope}', 'Show one policy (scope: global, eab:<kid>, account:<id>)'],
  ['put', '/policies/{scope}', 'Set a policy', 'Policy'],
  ['delete', '/policies/{scope}', 'Remove a policy'],
  ['get', '/profiles', 'List profiles and the default'],
  ['get', '/profiles/{name}', 'Show a profile'],
  ['put', '/profiles/{name}', 'Create or replace a profile', 'Profile'],
  ['delete', '/profiles/{name}', 'Delete a profile (not the default)'],
  ['put', '/default-profile', 'Choose the profile of orders that name none', 'DefaultProfile'],
  ['get', '/eab-keys', 'List EAB keys (never their HMAC)'],
  ['post', '/eab-keys', 'Create an EAB key; the answer holds its HMAC key, once', 'EabKey'],
  ['get', '/eab-keys/{kid}', 'Show an EAB key'],
  [
    'patch',
    '/eab-keys/{kid}',
    'Change the policy, profiles, expiry or pre-authorization of a key',
    'EabKeyUpdate',
  ],
  ['post', '/eab-keys/{kid}/revoke', 'Revoke an EAB key (its accounts can no longer order)'],
  ['get', '/rate-limits', 'List rate limits and overrides'],
  ['put', '/rate-limits/{name}', 'Set a rate limit', 'Limit'],
  ['delete', '/rate-limits/{name}', 'Turn a rate limit off'],
  ['put', '/rate-limits/{name}/overrides/{scope}', 'Override a limit for account:<id> or eab:<kid>', 'Limit'],
  ['delete', '/rate-limits/{name}/overrides/{scope}', 'Remove an override'],
  ['get', '/accounts', 'Search accounts (?eab=&status=&limit=)'],
  ['post', '/accounts/{id}/deactivate', 'Deactivate an account'],
  ['get', '/orders', 'Search orders (?account=&status=&identifier=&limit=)'],
  ['get', '/certificates', 'Search certificates (?account=&serial=&identifier=&limit=)'],
  ['post', '/certificates/{serial}/revoke', 'Revoke a certificate through the signer', 'Revoke'],
  ['get', '/tokens', 'List admin tokens (never their secret)'],
  ['post', '/tokens', 'Create an admin token; the answer holds it, once', 'Token'],
  ['post', '/tokens/{id}/revoke', 'Revoke an admin token'],
  ['get', '/preauthorizations', 'Authorizations granted by EAB pre-authorization'],
  ['get', '/changes', 'The change log, newest first (?limit=&before=<id>&target=)'],
  [
    'post',
    '/renew-now',
    'Move the ARI renewal window of certificates into the past (one selector: serial, issuer or pattern)',
    'RenewNow',
  ],
  ['get', '/renewals', 'Renewal windows set by renew-now (?limit=)'],
  ['get', '/renewals/{serial}', "A certificate's suggested renewal window and its override"],
  ['post', '/renewals/run', 'Revoke the replaced certificates whose revocation is due now', 'RenewalRun'],
  ['get', '/metrics', 'Prometheus metrics of this edge instance (text exposition format)'],
  ['get', '/openapi.json', 'This document'],
  ...INCIDENT_OPS,
];

const arr = (items: readonly string[]) => ({ type: 'array', items: { type: 'string', enum: [...items] } });
const rules = { type: 'array', items: { type: 'string' }, description: 'name, *.wildcard, .suffix or CIDR' };

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
  Policy: { type: 'object', properties: { allow: rules, deny: rules }, additionalProperties: false },
  Profile: {
    type: 'object',
    required: ['validitySeconds'],
    additionalProperties: false,
    properties: {
      description: { type: 'string' },
      validitySeconds: { type: 'integer', minimum: 60 },
      keyTypes: arr(LEAF_KEY_TYPES),
      ekus: arr(EKUS),
      identifierTypes: arr(IDENTIFIER_TYPES),
      allowWildcards: { type: 'boolean' },
      signerProfile: { type: 'string', description: 'the signer ceiling profile (default: the same name)' },
    },
  },
  DefaultProfile: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } },
  EabKeyUpdate: {
    type: 'object',
    additionalProperties: false,
    properties: {
      policy: { oneOf: [{ $ref: '#/components/schemas/Policy' }, { type: 'null' }] },
      profiles: { oneOf: [{ type: 'array', items: { type: 'string' } }, { type: 'null' }] },
      expiresAt: { oneOf: [{ type: 'string', format: 'date-time' }, { type: 'null' }] },
      preAuthorize: { type: 'boolean' },
      maxAccounts: {
        oneOf: [{ type: 'integer', minimum: 1, maximum: MAX_ACCOUNTS_LIMIT }, { type: 'null' }],
        description: 'accounts the key may bind (default 1); null: no limit',
      },
    },
  },
  EabKey: {
    allOf: [
      { $ref: '#/components/schemas/EabKeyUpdate' },
      { type: 'object', properties: { name: { type: 'string' } } },
    ],
  },
  Limit: {
    type: 'object',
    required: ['count', 'windowSeconds'],
    properties: { count: { type: 'integer', minimum: 0 }, windowSeconds: { type: 'integer', minimum: 1 } },
    description: `names: ${LIMIT_NAMES.join(', ')}`,
  },
  Revoke: { type: 'object', properties: { reason: { type: 'integer', minimum: 0, maximum: 10 } } },
  RenewNow: {
    type: 'object',
    additionalProperties: false,
    description: 'exactly one of serial, issuer, pattern',
    properties: {
      serial: { type: 'string', description: 'hex serial number' },
      issuer: {
        type: 'string',
        description: "the issuer's key identifier (hex, colons allowed, or base64url)",
      },
      pattern: { type: 'string', description: 'a policy rule: name, *.wildcard, .suffix or CIDR' },
      explanationUrl: { type: 'string', format: 'uri' },
      revokeWhenReplaced: { type: 'boolean' },
      revokeAt: { type: 'string', format: 'date-time' },
      revokeReason: { type: 'integer', minimum: 0, maximum: 10 },
      dryRun: { type: 'boolean' },
    },
  },
  RenewalRun: {
    type: 'object',
    additionalProperties: false,
    properties: { limit: { type: 'integer', minimum: 1, maximum: 1000 } },
  },
  ...INCIDENT_SCHEMAS,
  Token: {
    type: 'object',
    properties: { name: { type: 'string' }, scope: { type: 'string', enum: ['read', 'write'] } },
  },
};

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
