// Secrets handed over as systemd credentials (systemd.exec(5), "Credentials"): with
// `LoadCredential=NAME:PATH` systemd reads PATH as root when the service starts and gives the
// service a private copy at $CREDENTIALS_DIRECTORY/NAME, readable by the service's user alone and
// gone when it stops. The secret is then on no command line, in no environment variable and in no
// file the service user could read otherwise. packaging/systemd/ uses it for the HSM PIN and the
// PostgreSQL password.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A credential name as systemd accepts it: one path component. */
const CREDENTIAL_NAME = /^[A-Za-z0-9_.@:+-]{1,255}$/;

/**
 * The content of the credential `name` without one trailing newline (a file written with `echo`), for the setting `setting`
 * (named in every error so the operator knows which line of the config asked for it).
 * `env` is the process environment; a parameter so tests need not change the real one.
 */
export function readCredential(
  name: string,
  setting: string,
  env: Record<string, string | undefined> = process.env,
): string {
  if (!CREDENTIAL_NAME.test(name) || name === '.' || name === '..') {
    throw new Error(
      `${setting} must name a systemd credential (letters, digits and _.@:+-, no "/"), not ${JSON.stringify(name)}`,
    );
  }
  const dir = env.CREDENTIALS_DIRECTORY;
  if (!dir) {
    throw new Error(
      `${setting} is "${name}" but $CREDENTIALS_DIRECTORY is not set: start the signer from its systemd unit ` +
        `with LoadCredential=${name}:/path/to/the/secret (docs/deploy.md), or point CREDENTIALS_DIRECTORY ` +
        `at a directory holding a file named ${name}`,
    );
  }
  const file = join(dir, name);
  let value: string;
  try {
    value = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new Error(
      code === 'ENOENT'
        ? `the credential "${name}" (${setting}) is missing from $CREDENTIALS_DIRECTORY (${dir}): ` +
            `add LoadCredential=${name}:/path/to/the/secret to the unit`
        : `cannot read the credential ${file} (${setting}): ${code}`,
    );
  }
  const secret = value.replace(/\r?\n$/, '');
  if (!secret) throw new Error(`the credential ${file} (${setting}) is empty`);
  return secret;
}
