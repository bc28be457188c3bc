// What is written about the edge's settings, made from their table (edge/settings.ts): the README's
// table (`npm run gen` puts it between its marker comments) and the settings part of `edgeca edge`'s
// help. Pure text, so the CLI and the generator's check use the same functions.
import { type EdgeRuntimeName, type EdgeSetting, SETTING_ROWS } from './settings.ts';

const RUNTIME_LABEL: Record<EdgeRuntimeName, string> = { node: 'Node', deno: 'Deno', workers: 'Workers' };

function runtimes(s: EdgeSetting): string {
  return s.runtimes.length === 3 ? 'all' : s.runtimes.map((r) => RUNTIME_LABEL[r]).join(', ');
}

function variable(s: EdgeSetting): string {
  if (!s.fromFile) return `\`${s.name}\``;
  return `\`${s.name}_FILE\` (or \`${s.name}\`, inline)`;
}

function meaning(s: EdgeSetting): string {
  return s.secret ? `${s.description} (a secret)` : s.description;
}

/** A Markdown table with its columns padded to one width each. */
function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** The README's table of edge settings. */
export function settingsMarkdownTable(): string {
  return table(
    ['variable', 'default', 'runtimes', 'meaning'],
    SETTING_ROWS.map((s) => [variable(s), s.shown, runtimes(s), meaning(s)]),
  );
}

/** Markdown to plain text for a terminal: code quotes dropped, links reduced to their text. */
function plain(md: string): string {
  return md.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/`/g, '');
}

/** Every setting with its default, one per line, for `edgeca edge --help`. */
export function settingsHelp(): string {
  const width = Math.max(...SETTING_ROWS.map((s) => s.name.length + (s.fromFile ? 5 : 0)));
  return SETTING_ROWS.map((s) => {
    const name = s.fromFile ? `${s.name}_FILE` : s.name;
    const where = s.runtimes.length === 3 ? '' : ` [${runtimes(s)}]`;
    return `  ${name.padEnd(width)}  ${plain(s.description)} (default: ${plain(s.shown)})${where}`;
  }).join('\n');
}
