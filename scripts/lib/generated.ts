// The files made from one source each (`npm run gen` writes them; test/docs/generated.test.ts
// fails when a committed one differs): the Deno edge's --allow-env list from edge/settings.ts, the
// settings tables in README.md, each from its service's table (edge/settings.ts, signer/settings.ts,
// scripts/lib/start-settings.ts), and docs/hsm.md's CA key types from shared/key-types.ts. Each
// output path and marker is named once, here.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EDGE_ENV_NAMES, SETTING_ROWS } from '../../edge/settings.ts';
import { settingsMarkdownTable } from '../../edge/settings-docs.ts';
import { CA_KEY_TYPES } from '../../shared/key-types.ts';
import { settingsMarkdownTable as tableOf } from '../../shared/settings-docs.ts';
import { caKeyTypesMarkdownTable } from '../../signer/key-types-docs.ts';
import { SIGNER_SETTING_ROWS } from '../../signer/settings.ts';
import { START_SETTING_ROWS } from './start-settings.ts';

/** Where the Deno --allow-env list is written (read by harness/deno-run.mjs, plain Node). */
export const ENV_NAMES_PATH = 'edge/platform/env-names.json';
export const README_PATH = 'README.md';

/** A part of a Markdown file between two marker comments, made from one settings table. */
export interface GeneratedSection {
  /** what it lists, for the markers and for errors */
  what: string;
  path: string;
  begin: string;
  end: string;
  /** the settings it lists, by name (a test drops one and expects the file to be stale) */
  names: readonly string[];
  make(): string;
}

const section = (
  what: string,
  source: string,
  path: string,
  names: readonly string[],
  make: () => string,
): GeneratedSection => ({
  what,
  path,
  begin: `<!-- ${what}: generated from ${source} by \`npm run gen\` -->`,
  end: `<!-- end of ${what} -->`,
  names,
  make,
});

export const SECTIONS: readonly GeneratedSection[] = [
  section(
    'edge settings',
    'edge/settings.ts',
    README_PATH,
    SETTING_ROWS.map((s) => s.name),
    settingsMarkdownTable,
  ),
  section(
    'signer environment settings',
    'signer/settings.ts',
    README_PATH,
    SIGNER_SETTING_ROWS.map((s) => s.name),
    () => tableOf(SIGNER_SETTING_ROWS),
  ),
  section(
    'npm start settings',
    'scripts/lib/start-settings.ts',
    README_PATH,
    START_SETTING_ROWS.map((s) => s.name),
    () => tableOf(START_SETTING_ROWS),
  ),
  section('CA key types', 'shared/key-types.ts', 'docs/hsm.md', CA_KEY_TYPES, caKeyTypesMarkdownTable),
];

/** The edge's section: its markers are the ones the README has always had. */
export const SETTINGS_BEGIN = SECTIONS[0]?.begin ?? '';
export const SETTINGS_END = SECTIONS[0]?.end ?? '';

export interface GeneratedFile {
  path: string;
  content: string;
}

/** `text` with what lies between `begin` and `end` replaced; throws when a marker is missing. */
export function replaceBetween(
  text: string,
  begin: string,
  end: string,
  inner: string,
  file: string,
): string {
  const a = text.indexOf(begin);
  const b = text.indexOf(end, a + 1);
  if (a < 0 || b < 0) throw new Error(`${file}: the markers ${begin} … ${end} are missing`);
  return `${text.slice(0, a + begin.length)}\n\n${inner}\n\n${text.slice(b)}`;
}

/** Every generated file as it should be, made from the sources and the checkout at `root`. */
export function generatedFiles(root: string): GeneratedFile[] {
  const files: GeneratedFile[] = [
    { path: ENV_NAMES_PATH, content: `${JSON.stringify(EDGE_ENV_NAMES, null, 2)}\n` },
  ];
  const texts = new Map<string, string>();
  for (const s of SECTIONS) {
    const text = texts.get(s.path) ?? readFileSync(join(root, s.path), 'utf8');
    texts.set(s.path, replaceBetween(text, s.begin, s.end, s.make(), s.path));
  }
  for (const [path, content] of texts) files.push({ path, content });
  return files;
}

/** The generated files whose committed content differs from what the sources make. */
export function staleFiles(root: string): string[] {
  return generatedFiles(root)
    .filter((f) => {
      try {
        return readFileSync(join(root, f.path), 'utf8') !== f.content;
      } catch {
        return true;
      }
    })
    .map((f) => f.path);
}
