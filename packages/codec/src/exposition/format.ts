import type { Labels } from '../types.js';
import type { MetricFamily } from './types.js';

/** A sample value as the text format writes it: NaN, +Inf, -Inf, or the shortest round-tripping decimal. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function escapeLabelValue(value: string): string {
  return /[\\"\n]/.test(value) ? value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`)) : value;
}

function escapeHelp(help: string): string {
  return /[\\\n]/.test(help) ? help.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\')) : help;
}

function formatLabels(labels: Labels): string {
  const names = Object.keys(labels);
  if (names.length === 0) return '';
  let out = '{';
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    if (i > 0) out += ',';
    out += `${name}="${escapeLabelValue(labels[name]!)}"`;
  }
  return `${out}}`;
}

/** Writes metric families as Prometheus text exposition format 0.0.4 (what parseExposition reads back). */
export function formatExposition(families: MetricFamily[]): string {
  let out = '';
  for (const family of families) {
    if (family.help !== undefined) out += `# HELP ${family.name} ${escapeHelp(family.help)}\n`;
    out += `# TYPE ${family.name} ${family.type}\n`;
    for (const s of family.samples) {
      out += `${s.name}${formatLabels(s.labels)} ${formatValue(s.value)}`;
      if (s.timestamp !== undefined) out += ` ${s.timestamp}`;
      out += '\n';
    }
  }
  return out;
}
