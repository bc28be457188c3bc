// Where the admin CLI and `edgeca status` take the admin token from. A token on the command line
// is visible to every local user (ps, /proc/<pid>/cmdline) and stays in shell history, so a file
// is the way to pass it: --token-file FILE or EDGECA_ADMIN_TOKEN_FILE, or the token itself in
// EDGECA_ADMIN_TOKEN. --token still works, with a warning on stderr.
import { readFileSync, statSync } from 'node:fs';
import { UsageError } from './args.ts';

export const TOKEN_HELP = `--token-file FILE (or EDGECA_ADMIN_TOKEN_FILE), or EDGECA_ADMIN_TOKEN; --token T works but
  shows the token to every local user (ps) and in shell history`;

function fromFile(file: string, what: string, warn: (line: string) => void): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`${what}: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
  const token = text.trim();
  if (!token) throw new UsageError(`${what}: ${file} is empty`);
  if (/\s/.test(token)) throw new UsageError(`${what}: ${file} must hold one token and nothing else`);
  if (process.platform !== 'win32' && (statSync(file).mode & 0o077) !== 0) {
    warn(`warning: ${file} can be read by other users; chmod 600 ${file}`);
  }
  return token;
}

/**
 * The admin token, first found of: --token-file, --token (warned), EDGECA_ADMIN_TOKEN_FILE,
 * EDGECA_ADMIN_TOKEN. undefined when none is given.
 */
export function adminToken(
  v: { token?: string | undefined; 'token-file'?: string | undefined },
  warn: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  if (v.token !== undefined && v['token-file'] !== undefined)
    throw new UsageError('give --token-file or --token, not both');
  if (v['token-file'] !== undefined) return fromFile(v['token-file'], '--token-file', warn);
  if (v.token !== undefined) {
    warn(
      'warning: --token puts the admin token on the command line, where other local users can read it ' +
        '(ps) and shell history keeps it; use --token-file FILE or EDGECA_ADMIN_TOKEN_FILE',
    );
    if (!v.token) throw new UsageError('--token is empty');
    return v.token;
  }
  if (env.EDGECA_ADMIN_TOKEN_FILE)
    return fromFile(env.EDGECA_ADMIN_TOKEN_FILE, 'EDGECA_ADMIN_TOKEN_FILE', warn);
  return env.EDGECA_ADMIN_TOKEN || undefined;
}
