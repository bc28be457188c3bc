// The shape of a service's table of environment settings, and the one parser they all go through.
// Each service keeps one table (edge/settings.ts, signer/settings.ts, scripts/lib/start-settings.ts)
// from which its config reads, its `--help` lists and `npm run gen` writes its documentation
// (shared/settings-docs.ts): a setting that is not a row cannot be read. Web APIs only: the edge
// imports it on every runtime.

interface Common {
  name: `EDGECA_${string}`;
  /** what it does, in Markdown (the generated tables); help shows it as plain text */
  description: string;
  /** the default as the documentation shows it */
  shown: string;
  /** a secret: never logged, and where the service allows it given as `<NAME>_FILE` instead */
  secret: boolean;
  /** `<NAME>_FILE` names a file holding the value (the service's adapter reads it) */
  fromFile?: true;
}

/**
 * A whole number; unset (or empty) it is its default, and without one undefined. Below `min`
 * (default 0) or above `max` it is refused with `expected` (default: "a non-negative integer").
 */
export interface IntSetting extends Common {
  type: 'int';
  default?: number;
  min?: number;
  max?: number;
  /** what the error says is expected, e.g. "a TCP port (1 to 65535)" */
  expected?: string;
}

/** 1/true/yes/on (any case) is true, anything else set is false. */
export interface BoolSetting extends Common {
  type: 'bool';
  default: boolean;
}

/** Text, checked further where the service uses it (URLs, JWKs, PEM, JSON rules). */
export interface TextSetting extends Common {
  type: 'string';
  default?: string;
}

export type Setting = IntSetting | BoolSetting | TextSetting;

/** What reading a row gives: its parsed type, undefined only when unset with no default. */
export type SettingValue<R> = R extends { type: 'int' }
  ? R extends { default: number }
    ? number
    : number | undefined
  : R extends { type: 'bool' }
    ? boolean
    : R extends { default: string }
      ? string
      : string | undefined;

function int(row: IntSetting, v: string | undefined): number | undefined {
  if (v === undefined || v === '') return row.default;
  const n = Number(v);
  const min = row.min ?? 0;
  if (!Number.isInteger(n) || n < min || (row.max !== undefined && n > row.max))
    throw new Error(`${row.name} must be ${row.expected ?? 'a non-negative integer'}, got "${v}"`);
  return n;
}

function bool(row: BoolSetting, v: string | undefined): boolean {
  if (v === undefined || v === '') return row.default;
  return /^(1|true|yes|on)$/i.test(v);
}

/**
 * One row's value from the environment: numbers and booleans unset or empty are their default;
 * text with a default is the default only when unset; text without one is undefined when unset or
 * empty. A number that is not one the row allows throws naming the variable and what it expects.
 */
export function parseSetting(row: Setting, env: Record<string, string | undefined>): unknown {
  const v = env[row.name];
  if (row.type === 'int') return int(row, v);
  if (row.type === 'bool') return bool(row, v);
  if (row.default !== undefined) return v ?? row.default;
  return v || undefined;
}

/** A reader for one table: it takes only the table's names and gives each row's parsed type. */
export function settingReader<T extends readonly Setting[]>(table: T) {
  type Name = T[number]['name'];
  const byName = new Map<string, Setting>(table.map((s) => [s.name, s]));
  return function readSetting<N extends Name>(
    env: Record<string, string | undefined>,
    name: N,
  ): SettingValue<Extract<T[number], { name: N }>> {
    const row = byName.get(name);
    if (!row) throw new Error(`${name} is not a row of this settings table`);
    // parseSetting returns what SettingValue names for the row's type; the conditional type cannot
    // be narrowed from the row's runtime `type`.
    return parseSetting(row, env) as SettingValue<Extract<T[number], { name: N }>>;
  };
}

/** Every variable a table reads, `<NAME>_FILE` right after the settings that take one. */
export function envNames(table: readonly Setting[]): string[] {
  return table.flatMap((s) => (s.fromFile ? [s.name, `${s.name}_FILE`] : [s.name]));
}
