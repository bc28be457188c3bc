// `npm run gen`: writes the files made from one source each (scripts/lib/generated.ts lists them).
// `npm run gen -- --check` writes nothing and exits 1 naming the files that are out of date.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatedFiles, staleFiles } from './lib/generated.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

if (process.argv.includes('--check')) {
  const stale = staleFiles(ROOT);
  if (stale.length > 0) {
    console.error(`out of date: ${stale.join(', ')} — run npm run gen`);
    process.exit(1);
  }
} else {
  for (const f of generatedFiles(ROOT)) writeFileSync(join(ROOT, f.path), f.content);
}
