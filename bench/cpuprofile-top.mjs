// Summary of V8 CPU profiles (node --cpu-prof): the functions that took the most time, self and inclusive, and the
// self time per source file. Several profiles are summed.
// Run: node bench/cpuprofile-top.mjs <file.cpuprofile>... [--top 25]
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const topAt = args.indexOf('--top');
const TOP = topAt >= 0 ? Number(args[topAt + 1]) : 25;
const files = args.filter((a, i) => a !== '--top' && i !== topAt + 1);
if (files.length === 0) {
  console.error('usage: node bench/cpuprofile-top.mjs <file.cpuprofile>... [--top 25]');
  process.exit(2);
}

const self = new Map();
const inclusive = new Map();
const byFile = new Map();
let total = 0;
const short = (url) => url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, 'node_modules/').replace(/^.*?\/(apps|packages)\//, '$1/');
const keyOf = (cf) => `${cf.functionName || '(anonymous)'} ${cf.url ? `${short(cf.url)}:${cf.lineNumber + 1}` : ''}`.trim();
const add = (m, k, v) => m.set(k, (m.get(k) ?? 0) + v);

for (const file of files) {
  const p = JSON.parse(readFileSync(file, 'utf8'));
  const nodes = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map();
  for (let i = 0; i < p.samples.length; i++) add(selfUs, p.samples[i], p.timeDeltas[i] ?? 0);
  // Inclusive: each function counted once per stack (recursion does not count twice).
  const walk = (id, onStack) => {
    const n = nodes.get(id);
    const k = keyOf(n.callFrame);
    let sum = selfUs.get(id) ?? 0;
    const entered = !onStack.has(k);
    if (entered) onStack.add(k);
    for (const c of n.children ?? []) sum += walk(c, onStack);
    if (entered) {
      onStack.delete(k);
      add(inclusive, k, sum);
    }
    return sum;
  };
  walk(p.nodes[0].id, new Set());
  for (const [id, us] of selfUs) {
    const n = nodes.get(id);
    add(self, keyOf(n.callFrame), us);
    add(byFile, n.callFrame.url ? short(n.callFrame.url) : n.callFrame.functionName, us);
    total += us;
  }
}

const ms = (us) => (us / 1000).toFixed(0).padStart(8);
const pct = (us) => `${((us / total) * 100).toFixed(1).padStart(5)} %`;
const print = (title, m, skipIdle) => {
  console.log(`\n${title}`);
  const rows = [...m.entries()].filter(([k]) => !skipIdle || !/^\((idle|root|program)\)/.test(k)).sort((a, b) => b[1] - a[1]).slice(0, TOP);
  for (const [k, us] of rows) console.log(`${ms(us)} ms ${pct(us)}  ${k}`);
};
console.log(`${files.length} profile(s), ${(total / 1e6).toFixed(2)} s sampled`);
print('self time by function', self, false);
print('inclusive time by function', inclusive, true);
print('self time by file', byFile, false);
