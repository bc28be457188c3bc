// What is written about the edge's settings, made from their table (edge/settings.ts): the README's
// table (`npm run gen` puts it between its marker comments) and the settings part of `edgeca edge`'s
// help. The edge's own column is where each applies (runtimes); the rest is shared/settings-docs.ts.
import * as docs from '../shared/settings-docs.ts';
import { type EdgeRuntimeName, type EdgeSetting, SETTING_ROWS } from './settings.ts';

const RUNTIME_LABEL: Record<EdgeRuntimeName, string> = { node: 'Node', deno: 'Deno', workers: 'Workers' };

function runtimes(s: EdgeSetting): string {
  return s.runtimes.length === 3 ? 'all' : s.runtimes.map((r) => RUNTIME_LABEL[r]).join(', ');
}

/** The README's table of edge settings. */
export function settingsMarkdownTable(): string {
  return docs.settingsMarkdownTable(SETTING_ROWS, [{ head: 'runtimes', cell: runtimes }]);
}

/** Every setting with its default, one per line, for `edgeca edge --help`. */
export function settingsHelp(): string {
  return docs.settingsHelp(SETTING_ROWS, (s) => (s.runtimes.length === 3 ? '' : ` [${runtimes(s)}]`));
}
