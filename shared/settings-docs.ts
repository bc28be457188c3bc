// What is written about a table of settings (shared/settings.ts): the Markdown table `npm run gen`
// puts between marker comments in README.md or docs/, and the settings part of a command's `--help`.
// Pure text, so the CLIs and the generator's check use the same functions.
import type { Setting } from './settings.ts';

/** A column beyond variable, default and meaning: its heading and its cell for a row. */
export interface ExtraColumn<S extends Setting> {
  head: string;
  cell(s: S): string;
}

function variable(s: Setting): string {
  if (!s.fromFile) return `\`${s.name}\``;
  return `\`${s.name}_FILE\` (or \`${s.name}\`, inline)`;
}

function meaning(s: Setting): string {
  return s.secret ? `${s.description} (a secret)` : s.description;
}

/** A Markdown table with its columns padded to one width each. */
export function markdownTable(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** The documentation's table of a service's settings: variable, default, any extra columns, meaning. */
export function settingsMarkdownTable<S extends Setting>(
  rows: readonly S[],
  extra: readonly ExtraColumn<S>[] = [],
): string {
  return markdownTable(
    ['variable', 'default', ...extra.map((c) => c.head), 'meaning'],
    rows.map((s) => [variable(s), s.shown, ...extra.map((c) => c.cell(s)), meaning(s)]),
  );
}

/** Markdown to plain text for a terminal: code quotes dropped, links reduced to their text. */
export function plainText(md: string): string {
  return md.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/`/g, '');
}

/** Every setting with its default, one per line, for a command's `--help`; `note` adds to a line. */
export function settingsHelp<S extends Setting>(
  rows: readonly S[],
  note: (s: S) => string = () => '',
): string {
  const width = Math.max(...rows.map((s) => s.name.length + (s.fromFile ? 5 : 0)));
  return rows
    .map((s) => {
      const name = s.fromFile ? `${s.name}_FILE` : s.name;
      return `  ${name.padEnd(width)}  ${plainText(s.description)} (default: ${plainText(s.shown)})${note(s)}`;
    })
    .join('\n');
}
