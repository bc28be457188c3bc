// The Prometheus alert rules shipped in packaging/prometheus/ name only metrics that really exist:
// each expression's metric names are checked against the TYPE lines of the edge's /metrics (an
// edge in process) and the signer's registry. When promtool is installed (Debian: prometheus, a
// large package CI does not install) the file is also loaded by `promtool check rules`.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createSignerMetrics } from '../../signer/metrics.ts';
import { type InprocEdge, startInprocEdge } from '../support/edge-app.ts';

const FILE = join(fileURLToPath(new URL('../..', import.meta.url)), 'packaging/prometheus/edgeca-alerts.yml');
const text = readFileSync(FILE, 'utf8');

interface Rule {
  alert: string;
  expr: string;
  severity?: string;
  summary?: string;
}

/** The rules of the file: this file's YAML is one list of flat rule maps, each expr on one line. */
function rules(): Rule[] {
  const out: Rule[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*(- )?(alert|expr|severity|summary):\s*(.*)$/.exec(line);
    if (!m) continue;
    const [, , key, raw] = m;
    const value = raw!.replace(/^"(.*)"$/, '$1');
    if (key === 'alert') out.push({ alert: value, expr: '' });
    else if (out.length > 0) (out.at(-1) as unknown as Record<string, string>)[key!] = value;
  }
  return out;
}

const KEYWORDS = new Set([
  'by',
  'without',
  'and',
  'or',
  'unless',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'offset',
  'bool',
]);

/** Metric names in a PromQL expression: identifiers that are neither functions, keywords nor labels. */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, '');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const after = stripped.slice(m.index! + m[0].length).trimStart();
    if (after.startsWith('(') || KEYWORDS.has(m[0])) continue;
    names.add(m[0]);
  }
  return [...names];
}

let edge: InprocEdge;
let exported: Set<string>;
before(async () => {
  edge = await startInprocEdge();
  const edgeText = await (await edge.app.request('https://acme.test:14000/metrics')).text();
  const signerText = await createSignerMetrics().registry.render();
  exported = new Set([...`${edgeText}\n${signerText}`.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]!));
});
after(() => edge.close());

test('the file holds the alerts the operations guide names', () => {
  const names = rules().map((r) => r.alert);
  for (const want of [
    'EdgecaSignerDown',
    'EdgecaHsmDown',
    'EdgecaHsmSignErrors',
    'EdgecaValidationFailureRate',
    'EdgecaCertificatesExpiringUnreplaced',
    'EdgecaCrlPastNextUpdate',
  ])
    assert.ok(names.includes(want), `${want} missing from ${FILE}`);
  for (const r of rules()) {
    assert.ok(r.expr.length > 0, `${r.alert} has no expr`);
    assert.ok(r.severity, `${r.alert} has no severity label`);
    assert.ok(r.summary, `${r.alert} has no summary`);
  }
});

test('every metric an alert reads is exported by the edge or the signer', () => {
  assert.ok(exported.has('edgeca_http_requests_total'), 'the edge metrics were read');
  assert.ok(exported.has('edgeca_signer_hsm_up'), 'the signer metrics were read');
  const missing: string[] = [];
  for (const r of rules())
    for (const name of metricNames(r.expr)) if (!exported.has(name)) missing.push(`${r.alert}: ${name}`);
  assert.deepEqual(missing, []);
});

test('the name check finds names, and catches a misspelt one', () => {
  assert.deepEqual(metricNames('sum by (instance) (rate(edgeca_x_total{a="b"}[5m])) > 0 and time() > y'), [
    'edgeca_x_total',
    'y',
  ]);
  assert.ok(!exported.has('edgeca_signer_hsm_upp'));
});

test('promtool accepts the file, where it is installed', (t) => {
  let promtool = '';
  try {
    promtool = execFileSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' }).trim();
  } catch {
    t.skip('promtool is not installed (Debian package prometheus)');
    return;
  }
  const out = execFileSync(promtool, ['check', 'rules', FILE], { encoding: 'utf8' });
  assert.match(out, /SUCCESS/);
});
