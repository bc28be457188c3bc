// Loaded with --import (after tsx) into every test file's process by `npm test`: notes that file's
// path in the list named by EDGECA_TEST_RAN_LOG, so the run can tell a test file that exists but
// never ran. (The runner's own events name the file that called test(), which for a shared table
// runner is the runner's file, not the test file.) node:test marks the processes it starts per
// test file with NODE_TEST_CONTEXT; the runner itself and anything else are left alone.
import { appendFileSync } from 'node:fs';

const log = process.env.EDGECA_TEST_RAN_LOG;
const file = process.argv[1];
if (log && file && process.env.NODE_TEST_CONTEXT?.startsWith('child')) appendFileSync(log, `${file}\n`);
