// `edgeca keys <command>`: the ES256 JWKs the components pin each other by — the edge's relay key
// (the signer pins its public half in edgeKeys), the signer's answer key (the edge pins it:
// EDGECA_SIGNER_KEY), the validator's key (EDGECA_VALIDATOR_KEY). `generate` writes the private
// JWK to a file created mode 0600 (never to the terminal) and prints the public half, the value to
// pin; `public` prints the public half of an existing key file.
import { existsSync, readFileSync } from 'node:fs';
import { parseCommandLine, runCommand, UsageError } from './args.ts';

const HELP = `usage: edgeca keys generate --kid-prefix NAME --out FILE
       edgeca keys public --in FILE
  generate   a new P-256 key (ES256) with kid NAME-<random>: the private JWK goes to FILE
             (created mode 0600; an existing file is never overwritten), the public JWK to
             standard output
  public     the public JWK of the private JWK in FILE
`;

const KID_PREFIX = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/;

function publicHalf(jwk: Record<string, unknown>): Record<string, unknown> {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = jwk;
  return pub;
}

export function main(args: string[]): Promise<number> {
  return runCommand('edgeca keys', HELP, () => run(args));
}

async function run(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(HELP);
    return command === undefined ? 2 : 0;
  }
  if (command === 'generate') {
    const { values } = parseCommandLine(
      rest,
      { 'kid-prefix': { type: 'string' }, out: { type: 'string' } },
      { maxPositionals: 0 },
    );
    const prefix = values['kid-prefix'];
    const out = values.out;
    if (!prefix || !KID_PREFIX.test(prefix))
      throw new UsageError(
        '--kid-prefix needs a name of letters, digits, "_", "." or "-" (e.g. edge, signer, validator)',
      );
    if (!out) throw new UsageError('--out FILE is required: the private key is never printed');
    if (existsSync(out))
      throw new Error(`${out} exists; remove it first or choose another file (keys are never overwritten)`);
    const { es256Jwk, writeAtomic } = await import('../signer/bootstrap.ts');
    const { privateJwk, publicJwk } = es256Jwk(prefix);
    await writeAtomic(out, `${JSON.stringify(privateJwk, null, 2)}\n`, 0o600);
    process.stdout.write(`${JSON.stringify(publicJwk)}\n`);
    return 0;
  }
  if (command === 'public') {
    const { values } = parseCommandLine(rest, { in: { type: 'string' } }, { maxPositionals: 0 });
    const file = values.in;
    if (!file) throw new UsageError('--in FILE is required');
    let jwk: unknown;
    try {
      jwk = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new Error(`cannot read a JWK from ${file}: ${code ?? 'not JSON'}`);
    }
    if (
      typeof jwk !== 'object' ||
      jwk === null ||
      Array.isArray(jwk) ||
      typeof (jwk as { kty?: unknown }).kty !== 'string'
    )
      throw new Error(`${file} does not hold a JWK (a JSON object with "kty")`);
    process.stdout.write(`${JSON.stringify(publicHalf(jwk as Record<string, unknown>))}\n`);
    return 0;
  }
  throw new UsageError(`unknown command "${command}"`);
}
