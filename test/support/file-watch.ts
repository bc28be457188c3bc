// A reader polling a file while something else writes it: what it saw, change by change (no
// file, a file that does not parse, or JSON), so a test can show that a file was only ever seen
// whole. Bounded by the caller's stop().
import { readFileSync } from 'node:fs';

type Json = Record<string, unknown>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What a reader of a file saw, in order: no file, a file that does not parse, or JSON. */
export type Seen =
  | { kind: 'absent' }
  | { kind: 'torn'; text: string }
  | { kind: 'json'; value: Json; text: string };

/** Reads `file` every few milliseconds until stop(); keeps each change of what it saw. */
export function watchFile(file: string): { seen: Seen[]; stop(): Promise<void> } {
  const seen: Seen[] = [];
  let running = true;
  const loop = (async () => {
    let last = '\u0000';
    while (running) {
      let text: string | undefined;
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        text = undefined;
      }
      const key = text ?? '\u0001absent';
      if (key !== last) {
        last = key;
        if (text === undefined) seen.push({ kind: 'absent' });
        else {
          try {
            seen.push({ kind: 'json', value: JSON.parse(text) as Json, text });
          } catch {
            seen.push({ kind: 'torn', text });
          }
        }
      }
      await sleep(3);
    }
  })();
  return {
    seen,
    async stop() {
      running = false;
      await loop;
    },
  };
}
