// Writes a new order (or a lone authorization from newAuthz) with its authorizations, challenges
// and the marks of the authorizations granted by pre-authorization, in one batch: a
// pre-authorized authorization never exists without its mark.

import { preauthorizations } from './admin-schema.ts';
import type { Db } from './db.ts';
import {
  type AuthzRow,
  authorizations,
  type ChallengeRow,
  challenges,
  type OrderRow,
  orders,
} from './schema.ts';
import type { Stmt } from './settings.ts';

export type PreauthMark = typeof preauthorizations.$inferInsert;

/** What newOrder or newAuthz writes: the order (none for newAuthz) and the rows it adds. */
export interface IssuanceBundle {
  order?: OrderRow;
  authzs: AuthzRow[];
  challenges: ChallengeRow[];
  marks: PreauthMark[];
}

export async function insertIssuanceBundle(db: Db, b: IssuanceBundle): Promise<void> {
  const stmts: Stmt[] = [];
  if (b.order) stmts.push(db.insert(orders).values(b.order));
  if (b.authzs.length) stmts.push(db.insert(authorizations).values(b.authzs));
  if (b.challenges.length) stmts.push(db.insert(challenges).values(b.challenges));
  if (b.marks.length) stmts.push(db.insert(preauthorizations).values(b.marks));
  const [first, ...rest] = stmts;
  if (!first) return;
  await db.batch([first, ...rest]);
}
