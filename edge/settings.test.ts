import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultEdgeConfig, edgeConfigFromEnv, FILE_SETTINGS } from './config.ts';
import { EDGE_ENV_NAMES, EDGE_SETTINGS, readSetting } from './settings.ts';

const RELAY_KEY = JSON.stringify({ kty: 'OKP', crv: 'Ed25519', x: 'x', d: 'd', kid: 'edge' });
const SIGNER_KEY = JSON.stringify({ kty: 'OKP', crv: 'Ed25519', x: 'y', kid: 'signer' });
const BASE = { EDGECA_RELAY_KEY: RELAY_KEY, EDGECA_SIGNER_KEY: SIGNER_KEY };

test('unset numbers and booleans are their defaults; set ones are parsed', () => {
  assert.equal(readSetting({}, 'EDGECA_MAX_BODY_BYTES'), 65_536);
  assert.equal(readSetting({ EDGECA_MAX_BODY_BYTES: '' }, 'EDGECA_MAX_BODY_BYTES'), 65_536);
  assert.equal(readSetting({ EDGECA_MAX_BODY_BYTES: '1024' }, 'EDGECA_MAX_BODY_BYTES'), 1024);
  assert.equal(readSetting({}, 'EDGECA_EAB_REQUIRED'), false);
  assert.equal(readSetting({ EDGECA_EAB_REQUIRED: 'YES' }, 'EDGECA_EAB_REQUIRED'), true);
  assert.equal(readSetting({ EDGECA_EAB_REQUIRED: 'nope' }, 'EDGECA_EAB_REQUIRED'), false);
});

test('text with a default is the default only when unset; text without one is undefined when empty', () => {
  assert.equal(readSetting({}, 'EDGECA_DB_URL'), 'file:.edgeca/dev/edge.db');
  assert.equal(readSetting({ EDGECA_DB_URL: 'libsql://x' }, 'EDGECA_DB_URL'), 'libsql://x');
  assert.equal(readSetting({ EDGECA_TOS_URL: '' }, 'EDGECA_TOS_URL'), undefined);
});

test('rejects a number that is not a non-negative integer, naming the setting', () => {
  assert.throws(
    () => edgeConfigFromEnv({ ...BASE, EDGECA_NONCE_LIFETIME_S: '-5' }),
    /EDGECA_NONCE_LIFETIME_S must be a non-negative integer, got "-5"/,
  );
  assert.throws(() => readSetting({ EDGECA_PORT: '1.5' }, 'EDGECA_PORT'), /EDGECA_PORT must be/);
});

test('the defaults of the config are the ones the edge has always had', () => {
  const cfg = defaultEdgeConfig({
    baseUrl: 'https://x',
    dbUrl: 'file:x',
    signerUrl: 'http://s',
    relayKeyJwk: {},
  });
  assert.deepEqual(
    {
      http01Port: cfg.http01Port,
      tlsAlpnPort: cfg.tlsAlpnPort,
      allowLoopback: cfg.allowLoopback,
      eabRequired: cfg.eabRequired,
      nonceLifetimeSeconds: cfg.nonceLifetimeSeconds,
      orderLifetimeSeconds: cfg.orderLifetimeSeconds,
      authzLifetimeSeconds: cfg.authzLifetimeSeconds,
      maxIdentifiersPerOrder: cfg.maxIdentifiersPerOrder,
      maxBodyBytes: cfg.maxBodyBytes,
      relayTimeoutMs: cfg.relayTimeoutMs,
      relayConnectTimeoutMs: cfg.relayConnectTimeoutMs,
      relayRetryAfterS: cfg.relayRetryAfterS,
      maxPendingAuthzsPerAccount: cfg.maxPendingAuthzsPerAccount,
      maxPendingOrdersPerAccount: cfg.maxPendingOrdersPerAccount,
      headersTimeoutMs: cfg.headersTimeoutMs,
      requestTimeoutMs: cfg.requestTimeoutMs,
      nonceRejectPercent: cfg.nonceRejectPercent,
      adminAuthFailuresPerMinute: cfg.adminAuthFailuresPerMinute,
      sqlStatementMetrics: cfg.sqlStatementMetrics,
    },
    {
      http01Port: 80,
      tlsAlpnPort: 443,
      allowLoopback: false,
      eabRequired: false,
      nonceLifetimeSeconds: 3600,
      orderLifetimeSeconds: 604_800,
      authzLifetimeSeconds: 604_800,
      maxIdentifiersPerOrder: 100,
      maxBodyBytes: 65_536,
      relayTimeoutMs: 15_000,
      relayConnectTimeoutMs: 2_000,
      relayRetryAfterS: 30,
      maxPendingAuthzsPerAccount: 1000,
      maxPendingOrdersPerAccount: 1000,
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      nonceRejectPercent: 0,
      adminAuthFailuresPerMinute: 10,
      sqlStatementMetrics: false,
    },
  );
});

test('every keyed setting in the environment reaches its config field', () => {
  const cfg = edgeConfigFromEnv({
    ...BASE,
    EDGECA_PORT: '9000',
    EDGECA_HTTP01_PORT: '5002',
    EDGECA_ALLOW_LOOPBACK: 'true',
    EDGECA_MAX_PENDING_ORDERS: '7',
    EDGECA_ADMIN_AUTH_FAILURES_PER_MIN: '3',
  });
  assert.equal(cfg.baseUrl, 'https://127.0.0.1:9000');
  assert.equal(cfg.http01Port, 5002);
  assert.equal(cfg.allowLoopback, true);
  assert.equal(cfg.maxPendingOrdersPerAccount, 7);
  assert.equal(cfg.adminAuthFailuresPerMinute, 3);
  assert.equal(cfg.dbUrl, 'file:.edgeca/dev/edge.db');
  assert.equal(cfg.signerUrl, 'http://127.0.0.1:14100');
});

test('the Deno environment list is every setting, with <NAME>_FILE after each file setting', () => {
  assert.equal(EDGE_ENV_NAMES.length, EDGE_SETTINGS.length + FILE_SETTINGS.length);
  assert.deepEqual([...FILE_SETTINGS].sort(), [
    'EDGECA_RELAY_KEY',
    'EDGECA_SIGNER_CA',
    'EDGECA_SIGNER_KEY',
    'EDGECA_VALIDATOR_KEY',
  ]);
  for (const f of FILE_SETTINGS) assert.equal(EDGE_ENV_NAMES[EDGE_ENV_NAMES.indexOf(f) + 1], `${f}_FILE`);
});
