// The files made from one source each are what the source makes now: the Deno --allow-env list and
// the README's settings table (edge/settings.ts). A setting added without `npm run gen` fails here.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EDGE_SETTINGS } from '../../edge/settings.ts';
import { generatedFiles, README_PATH, SETTINGS_BEGIN, staleFiles } from '../../scripts/lib/generated.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

test('the committed generated files are what the sources make (else: run npm run gen)', () => {
  assert.deepEqual(staleFiles(ROOT), [], 'generated files are out of date: run npm run gen');
});

test('a README whose settings table lacks a setting is reported stale', () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgeca-gen-'));
  try {
    for (const f of generatedFiles(ROOT)) {
      const path = join(dir, f.path);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, f.content);
    }
    assert.deepEqual(staleFiles(dir), []);
    const readme = readFileSync(join(dir, README_PATH), 'utf8');
    const last = EDGE_SETTINGS[EDGE_SETTINGS.length - 1]!.name;
    const dropped = readme
      .split('\n')
      .filter((l) => !l.includes(`\`${last}\``))
      .join('\n');
    writeFileSync(join(dir, README_PATH), dropped);
    assert.deepEqual(staleFiles(dir), [README_PATH]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a README without the marker comments is an error naming them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgeca-gen-'));
  try {
    writeFileSync(join(dir, README_PATH), 'no markers here\n');
    assert.throws(() => generatedFiles(dir), new RegExp(SETTINGS_BEGIN.slice(0, 20)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
