// The one command-line parser of every `edgeca` command (cli/, signer/cli.ts, validator/cli.ts), on
// node:util's parseArgs. A mistake in a command line — an unknown option, an option without its
// value, a value for a flag, a value the command cannot use — is a UsageError: one line naming it,
// then the command's usage, exit status 2. Any other failure is one line and exit status 1. Neither
// ever shows a stack trace: these are messages for the person at the terminal.
import { parseArgs } from 'node:util';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
}
export type OptionSpecs = Record<string, OptionSpec>;

/** A mistake in the command line: printed with the command's usage, exit status 2. */
export class UsageError extends Error {}

/** node:util's parse errors, turned into one line for the user. */
function usageErrorOf(e: unknown): unknown {
  const err = e as { code?: string; message?: string };
  const msg = String(err.message ?? e);
  const quoted = /'([^']*)'/.exec(msg)?.[1] ?? '';
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return new UsageError(`unknown option ${quoted}`);
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return new UsageError(`unexpected argument "${quoted}"`);
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      const name = quoted.split(' ')[0] ?? quoted;
      if (/does not take an argument/.test(msg)) return new UsageError(`option ${name} takes no value`);
      if (/ambiguous/.test(msg))
        return new UsageError(
          `option ${name} needs a value (one starting with "-" is written ${name}=-VALUE)`,
        );
      return new UsageError(`option ${name} needs a value`);
    }
  }
  return e;
}

/**
 * Parses `args` against `options` (strict: every option must be declared). Positionals are
 * allowed; `maxPositionals` refuses more than that many.
 */
export function parseCommandLine<const O extends OptionSpecs>(
  args: string[],
  options: O,
  opts: { maxPositionals?: number } = {},
) {
  let parsed: ReturnType<
    typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>
  >;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw usageErrorOf(e);
  }
  const extra = parsed.positionals[opts.maxPositionals ?? Number.POSITIVE_INFINITY];
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
  return parsed;
}

/** The value of a string option, or undefined; "" counts as missing. */
export function stringValue(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** An integer option within [min, max], or undefined when absent. */
export function integerValue(v: unknown, name: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = typeof v === 'string' && /^-?\d{1,15}$/.test(v.trim()) ? Number(v) : Number.NaN;
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got "${String(v)}"`);
  return n;
}

/** A required string option. */
export function requireValue(v: Record<string, unknown>, name: string): string {
  const x = stringValue(v[name]);
  if (x === undefined) throw new UsageError(`--${name} is required`);
  return x;
}

/**
 * Runs one command: a UsageError prints `prefix: message` and the usage (exit 2), any other error
 * `prefix: message` (exit 1). `usage` is a function so it is built only when needed.
 */
export async function runCommand(
  prefix: string,
  usage: string | (() => string),
  body: () => Promise<number>,
): Promise<number> {
  try {
    return await body();
  } catch (e) {
    if (e instanceof UsageError) {
      const text = typeof usage === 'function' ? usage() : usage;
      process.stderr.write(`${prefix}: ${e.message}\n${text.endsWith('\n') ? text : `${text}\n`}`);
      return 2;
    }
    process.stderr.write(`${prefix}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}
