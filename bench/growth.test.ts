// The growth level's purge figure: seeded orders (each with its authorization, challenge and
// certificate) all go once the clock is past every retention, and the database holds less after.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createClient } from '@libsql/client';
import { openDatabase } from '../edge/storage/db.ts';
import { countOrders, purgeGrowth, seedOrders } from './growth.ts';

const dir = mkdtempSync(join(tmpdir(), 'edgeca-growth-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('purging a seeded database with the clock past every retention deletes every seeded order and what hangs off it', async () => {
  const file = join(dir, 'edge.db');
  (await openDatabase(createClient({ url: `file:${file}` }))).close();
  await seedOrders(`file:${file}`, 0, 3000);
  const inside = await purgeGrowth(file, 1);
  assert.deepEqual(inside.counts, {}, 'nothing is past its retention a day later');
  assert.equal(await countOrders(`file:${file}`), 3000);
  const past = await purgeGrowth(file, 400);
  assert.deepEqual(past.counts, { orders: 3000, authorizations: 3000, challenges: 3000, certificates: 3000 });
  assert.equal(await countOrders(`file:${file}`), 0);
  assert.ok(
    past.runs >= 1 && past.steps >= 2 * 6,
    `authorizations and certificates in batches of 500: ${past.steps} statements`,
  );
  assert.ok(past.bytesAfter.used < past.bytesBefore.used / 4, 'most pages are free again');
});
