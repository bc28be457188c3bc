// The systemd units in packaging/systemd/ read the way the package tests need them: the settings
// of a section, and what a unit's service would run (command line, environment, credentials,
// working directory) with its absolute paths moved under a test's temporary root, so a test can
// start exactly the command each unit starts without a running systemd.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const UNIT_DIR = join(import.meta.dirname, '..', '..', 'packaging', 'systemd');

export type Unit = Map<string, [key: string, value: string][]>;

/** The *.service files of packaging/systemd, by name. */
export function unitFiles(dir = UNIT_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.service'))
    .sort();
}

/** Sections of a unit file: comments dropped, backslash continuations joined (systemd.syntax(7)). */
export function parseUnit(text: string): Unit {
  const unit: Unit = new Map();
  let section: [string, string][] | undefined;
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  for (const raw of lines) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = [];
      unit.set(header[1] as string, section);
      continue;
    }
    const eq = line.indexOf('=');
    if (!section || eq < 0) throw new Error(`not a unit line: ${line}`);
    section.push([
      line.slice(0, eq).trim(),
      line
        .slice(eq + 1)
        .trim()
        .replace(/\s+/g, ' '),
    ]);
  }
  return unit;
}

export function readUnit(name: string, dir = UNIT_DIR): Unit {
  return parseUnit(readFileSync(join(dir, name), 'utf8'));
}

/** Every value of `key` in `section`, in order. */
export function values(unit: Unit, section: string, key: string): string[] {
  return (unit.get(section) ?? []).filter(([k]) => k === key).map(([, v]) => v);
}

export interface ServiceLaunch {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string | undefined;
  /** LoadCredential= entries: credential name and the (moved) file systemd would read */
  credentials: { name: string; source: string }[];
}

/**
 * What the unit's [Service] runs, with `%d` replaced by `credentialsDir` and every absolute path
 * passed through `move` (e.g. /etc/edgeca/x → <root>/etc/edgeca/x). Environment= first, then the
 * EnvironmentFile= lines, which win (as in systemd). The command line is split on spaces: these
 * units quote nothing.
 */
export function serviceLaunch(
  unit: Unit,
  move: (s: string) => string,
  credentialsDir: string,
): ServiceLaunch {
  const expand = (s: string) => move(s.replaceAll('%d', credentialsDir));
  const [exec] = values(unit, 'Service', 'ExecStart');
  if (!exec) throw new Error('the unit has no ExecStart=');
  if (/["']/.test(exec)) throw new Error(`quoted ExecStart= is not supported here: ${exec}`);
  const [command, ...args] = exec.split(' ').map(expand);
  const env: Record<string, string> = {};
  for (const assignment of values(unit, 'Service', 'Environment')) {
    const eq = assignment.indexOf('=');
    env[assignment.slice(0, eq)] = expand(assignment.slice(eq + 1));
  }
  for (const file of values(unit, 'Service', 'EnvironmentFile')) {
    for (const line of readFileSync(move(file), 'utf8').split('\n')) {
      const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
      if (m) env[m[1] as string] = m[2] as string;
    }
  }
  const credentials = values(unit, 'Service', 'LoadCredential').map((v) => {
    const colon = v.indexOf(':');
    return { name: v.slice(0, colon), source: move(v.slice(colon + 1)) };
  });
  const [cwd] = values(unit, 'Service', 'WorkingDirectory');
  return { command: command as string, args, env, cwd: cwd ? move(cwd) : undefined, credentials };
}
