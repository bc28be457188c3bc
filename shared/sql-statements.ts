// Counts SQL statements by kind — the verb and the table it acts on ("select accounts", "insert
// orders", "update authorizations") — for the edgeca_sql_statements_total metrics of the edge and
// the signer (switched on by EDGECA_SQL_STATEMENT_METRICS). Knowing how many statements each
// request costs, and of which kind, is what tells a storage change that helps from one that does
// not. Web APIs only: the edge imports it on every runtime.

/** Verbs that name the statement; anything else is counted as "other". */
const VERBS = new Set([
  'select',
  'insert',
  'update',
  'delete',
  'replace',
  'pragma',
  'begin',
  'commit',
  'rollback',
  'savepoint',
  'release',
  'create',
  'drop',
  'alter',
  'values',
]);

/** Distinct statement texts whose kind is remembered; past it a kind is worked out every time. */
const MAX_CACHED_TEXTS = 2000;

/**
 * The words of `text` outside parentheses and quotes, lower-cased, up to `max` of them: enough to
 * find the verb and its table without being misled by a subquery or a quoted identifier's spelling.
 */
function topLevelWords(text: string, max: number): string[] {
  const words: string[] = [];
  let depth = 0;
  let word = '';
  const flush = () => {
    if (word && depth === 0) words.push(word.toLowerCase());
    word = '';
  };
  for (let i = 0; i < text.length && words.length < max; i++) {
    const ch = text[i] as string;
    if (ch === "'" || ch === '"' || ch === '`' || ch === '[') {
      // A quoted identifier ("orders") is a word; a string literal ('x') is skipped.
      const close = ch === '[' ? ']' : ch;
      const end = text.indexOf(close, i + 1);
      const inner = text.slice(i + 1, end < 0 ? text.length : end);
      flush();
      if (ch !== "'" && depth === 0) words.push(inner.toLowerCase());
      i = end < 0 ? text.length : end;
    } else if (ch === '-' && text[i + 1] === '-') {
      flush();
      const end = text.indexOf('\n', i);
      i = end < 0 ? text.length : end;
    } else if (ch === '(') {
      flush();
      depth++;
    } else if (ch === ')') {
      flush();
      depth = Math.max(0, depth - 1);
    } else if (/[A-Za-z0-9_$.]/.test(ch)) {
      word += ch;
    } else {
      flush();
    }
  }
  flush();
  return words;
}

/** The table a statement's words name after `after` (skipping `or ignore` / `or replace`). */
function tableAfter(words: string[], from: number, after: string): string | undefined {
  const at = words.indexOf(after, from);
  if (at < 0) return undefined;
  let t = words[at + 1];
  if (t === 'or') t = words[at + 3];
  // schema-qualified ("main.orders", "public.issuance"): the table alone
  return t?.split('.').pop();
}

/** "verb table" for one statement, e.g. "select orders", "insert nonces", "pragma", "begin". */
export function statementKind(text: string): string {
  const words = topLevelWords(text, 512);
  // WITH name AS (...), ... — the statement's verb is the first verb after the common table expressions.
  let i = 0;
  if (words[0] === 'with') {
    i = 1;
    while (i < words.length && !['select', 'insert', 'update', 'delete', 'replace'].includes(words[i] ?? ''))
      i++;
  }
  const verb = words[i];
  if (verb === undefined || !VERBS.has(verb)) return 'other';
  let table: string | undefined;
  if (verb === 'select' || verb === 'delete') table = tableAfter(words, i, 'from');
  else if (verb === 'insert' || verb === 'replace') table = tableAfter(words, i, 'into');
  else if (verb === 'update') {
    table = words[i + 1] === 'or' ? words[i + 3] : words[i + 1];
    table = table?.split('.').pop();
  }
  return table ? `${verb} ${table}` : verb;
}

/** Statements executed so far, by kind; one per process (or Workers isolate) and store. */
export class StatementCounts {
  private readonly byKind = new Map<string, number>();
  private readonly kinds = new Map<string, string>();

  /** Counts one execution of `text` (`times` for a statement run more than once). */
  count(text: string, times = 1): void {
    let kind = this.kinds.get(text);
    if (kind === undefined) {
      kind = statementKind(text);
      if (this.kinds.size < MAX_CACHED_TEXTS) this.kinds.set(text, kind);
    }
    this.byKind.set(kind, (this.byKind.get(kind) ?? 0) + times);
  }

  /** Counts something that is not a statement of its own, e.g. "batch" (one transaction). */
  countKind(kind: string): void {
    this.byKind.set(kind, (this.byKind.get(kind) ?? 0) + 1);
  }

  /** The totals so far, by kind. */
  snapshot(): Map<string, number> {
    return new Map(this.byKind);
  }
}

/** The SQL text of a statement as the libSQL client takes it (a string or `{ sql, args }`). */
export function sqlTextOf(stmt: unknown): string {
  if (typeof stmt === 'string') return stmt;
  const s = (stmt as { sql?: unknown } | null)?.sql;
  return typeof s === 'string' ? s : '';
}
