// Files that outside tools read while `npm start` runs (endpoints.json, services.pid.json, the
// signers' configs) are written through a temporary file and a rename: a reader sees the old file,
// no file, or the new one whole, never half of one.
import { renameSync, writeFileSync } from 'node:fs';

/** Writes `text` to `file` whole (a temporary file beside it, renamed over it). */
export function writeWhole(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}
