// Summarises V8 .cpuprofile files (node --cpu-prof): self time by function and by file/package,
// as percentages of the sampled time (idle and GC shown apart). Used for the bench's closing notes:
//   node --import tsx bench/cpuprofile.ts FILE.cpuprofile [top=25]
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** "node_modules/@libsql/client" → "@libsql/client"; repo files stay relative; node internals "node:". */
function where(url: string): string {
  if (!url) return '(native/VM)';
  if (url.startsWith('node:')) return url;
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const parts = url.slice(nm + 13).split('/');
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? url);
  }
  const repo = url.indexOf('/main/');
  return repo >= 0 ? url.slice(repo + 6) : url.replace(/^file:\/\//, '');
}

export function summarise(file: string, top = 25): string {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i] as number;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
  }
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const fn = new Map<string, number>();
  const loc = new Map<string, number>();
  let idle = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (!n) continue;
    const name = n.callFrame.functionName || '(anonymous)';
    if (name === '(idle)') {
      idle += us;
      continue;
    }
    const w = where(n.callFrame.url);
    const key = `${name} ${w}${n.callFrame.url ? `:${n.callFrame.lineNumber + 1}` : ''}`;
    fn.set(key, (fn.get(key) ?? 0) + us);
    const lk = ['(program)', '(garbage collector)'].includes(name) ? name : w;
    loc.set(lk, (loc.get(lk) ?? 0) + us);
  }
  const busy = total - idle;
  // Inclusive time of the project's own functions: each sample counts once for every distinct
  // repository function on its stack.
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const incl = new Map<string, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const seen = new Set<string>();
    for (let id: number | undefined = p.samples[i]; id !== undefined; id = parent.get(id)) {
      const n = byId.get(id);
      const url = n?.callFrame.url ?? '';
      if (!n || !url || url.includes('node_modules') || url.startsWith('node:')) continue;
      const key = `${n.callFrame.functionName || '(anonymous)'} ${where(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
      if (seen.has(key)) continue;
      seen.add(key);
      incl.set(key, (incl.get(key) ?? 0) + (p.timeDeltas[i] ?? 0));
    }
  }
  const pct = (us: number) => `${((100 * us) / busy).toFixed(1).padStart(5)}%`;
  const lines = [
    `${file}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy (percentages of busy)`,
    'self time by file / package:',
    ...[...loc.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => `  ${pct(us)}  ${k}`),
    'inclusive time of project functions:',
    ...[...incl.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => `  ${pct(us)}  ${k}`),
    'self time by function:',
    ...[...fn.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => `  ${pct(us)}  ${k}`),
  ];
  return `${lines.join('\n')}\n`;
}

if (process.argv[1]?.endsWith('cpuprofile.ts')) {
  const files = process.argv.slice(2).filter((a) => a.endsWith('.cpuprofile'));
  const top = Number(process.argv.find((a) => /^top=\d+$/.test(a))?.slice(4) ?? 25);
  for (const f of files) process.stdout.write(summarise(f, top));
}
