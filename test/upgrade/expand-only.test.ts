// Rolling upgrades run the previous release beside the new one on the same databases: the first
// new edge (or signer) migrates the schema while old instances still read and write it. That holds
// only while migrations expand the schema: new tables, indexes and columns old code ignores, and no
// new column an old INSERT would leave NOT NULL without a value. Dropping or renaming waits for the
// release after the one that stopped using the thing; such a migration is listed here with why.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { MIGRATIONS } from '../../edge/storage/migrations.ts';

/** Migrations allowed to remove something (engine:id → why it is safe). None so far. */
const CONTRACTS = new Map<string, string>();

const REMOVES = /\b(DROP\s+(TABLE|INDEX|COLUMN|VIEW|TRIGGER)|RENAME\s+(TO|COLUMN))\b/i;
const ADD_COLUMN = /\bADD\s+COLUMN\b([^,;]*)/i;

function problems(where: string, sql: string, o: { unlocked?: boolean } = {}): string[] {
  const out: string[] = [];
  const flat = sql.replace(/\s+/g, ' ');
  if (REMOVES.test(flat) && !CONTRACTS.has(where))
    out.push(
      `${where}: removes or renames (${flat.slice(0, 80)}): ship that a release later, listed in CONTRACTS`,
    );
  const add = ADD_COLUMN.exec(flat);
  if (add && /\bNOT\s+NULL\b/i.test(add[1] ?? '') && !/\bDEFAULT\b/i.test(add[1] ?? ''))
    out.push(`${where}: ADD COLUMN NOT NULL without DEFAULT breaks the previous release's INSERTs`);
  // The edge migrates without a lock (D1 has none): two instances may run one migration at once.
  // The signer's take a lock first.
  if (
    o.unlocked &&
    /^\s*CREATE\s+(UNIQUE\s+)?(TABLE|INDEX)\b/i.test(flat) &&
    !/\bIF NOT EXISTS\b/i.test(flat)
  )
    out.push(`${where}: CREATE without IF NOT EXISTS (two instances may migrate at once)`);
  return out;
}

/** The SQL text literals of a source file (the signer's migrations are code around SQL strings). */
function sqlLiterals(file: string): string[] {
  const src = readFileSync(new URL(file, import.meta.url), 'utf8');
  const literals = [...src.matchAll(/(['`])((?:(?!\1)[\s\S])*)\1/g)].map((m) => m[2] ?? '');
  return literals.filter((s) => /^\s*(CREATE|ALTER|DROP|INSERT|UPDATE|DELETE)\b/i.test(s));
}

test("the edge's migrations only add: new columns nullable or defaulted, nothing dropped or renamed", () => {
  const found = MIGRATIONS.flatMap((m) =>
    m.statements.flatMap((s) => problems(`edge:${m.id}`, s, { unlocked: true })),
  );
  assert.deepEqual(found, []);
});

test("the signer store's migrations only add, on both engines", () => {
  const statements = sqlLiterals('../../signer/store/migrations.ts');
  assert.ok(statements.length >= 5, `found the signer's DDL (${statements.length} statements)`);
  assert.deepEqual(
    statements.flatMap((s, i) => problems(`signer:statement ${i + 1}`, s)),
    [],
  );
});

test('the rule itself: a drop, a rename and a NOT NULL column without default are caught', () => {
  assert.equal(problems('t', 'ALTER TABLE a DROP COLUMN b').length, 1);
  assert.equal(problems('t', 'ALTER TABLE a RENAME TO b').length, 1);
  assert.equal(problems('t', 'DROP INDEX IF EXISTS x').length, 1);
  assert.equal(problems('t', 'ALTER TABLE a ADD COLUMN b TEXT NOT NULL').length, 1);
  assert.equal(problems('t', "ALTER TABLE a ADD COLUMN b TEXT NOT NULL DEFAULT ''").length, 0);
  assert.equal(problems('t', 'ALTER TABLE a ADD COLUMN b TEXT').length, 0);
  assert.equal(problems('t', 'CREATE TABLE t (a TEXT)', { unlocked: true }).length, 1);
});
