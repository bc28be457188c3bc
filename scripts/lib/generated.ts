// The files made from one source each (`npm run gen` writes them; test/docs/generated.test.ts
// fails when a committed one differs): the Deno edge's --allow-env list and the README's settings
// table, both from edge/settings.ts. Each output path is named once, here.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EDGE_ENV_NAMES } from '../../edge/settings.ts';
import { settingsMarkdownTable } from '../../edge/settings-docs.ts';

/** Where the Deno --allow-env list is written (read by harness/deno-run.mjs, plain Node). */
export const ENV_NAMES_PATH = 'edge/platform/env-names.json';
export const README_PATH = 'README.md';
export const SETTINGS_BEGIN = '<!-- edge settings: generated from edge/settings.ts by `npm run gen` -->';
export const SETTINGS_END = '<!-- end of edge settings -->';

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
  const readme = readFileSync(join(root, README_PATH), 'utf8');
  return [
    { path: ENV_NAMES_PATH, content: `${JSON.stringify(EDGE_ENV_NAMES, null, 2)}\n` },
    {
      path: README_PATH,
      content: replaceBetween(readme, SETTINGS_BEGIN, SETTINGS_END, settingsMarkdownTable(), README_PATH),
    },
  ];
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
