// BENCHMARKS.md's sections by benchmark area, so that a failed run keeps the last good figures of its area.
// Each section bench/run.mjs writes starts with `<!-- bench:<area> last-good:<date> -->` (invisible once rendered);
// older files are read by the section footer `_(bench/<area>.ts, …)_` and the header's date.

/** Every bench/<area>.ts, in the order of BENCHMARKS.md: an area missing here would lose its section on a full run. */
export const AREAS = ['codec', 'push-client', 'text-parse', 'relay-core', 'relay', 'relay-scale', 'ingest', 'peers-kafka', 'peers-http', 'infra'];

const MARKER = /^<!-- bench:([\w-]+) last-good:(\d{4}-\d{2}-\d{2}) -->$/;
const NOTE = /^> The [\w-]+ benchmark failed on /;

/** Map area -> { text, lastGood } of the sections in `text` (the test-suite section and the header are not areas). */
export function areaSections(text, areas) {
  const header = /Produced by `npm run bench` on (\d{4}-\d{2}-\d{2})/.exec(text)?.[1];
  // A section starts at its marker, or at a heading where no marker starts it; a marker's section takes its first
  // heading, and any notes written by hand between the two, with it.
  const chunks = [];
  let current;
  for (const line of text.split('\n')) {
    const startsByMarker = MARKER.test(line);
    const heading = line.startsWith('## ');
    const startsByHeading = heading && !(current && MARKER.test(current.lines[0]) && !current.headed);
    if (startsByMarker || startsByHeading) chunks.push((current = { lines: [], headed: false }));
    if (current && heading) current.headed = true;
    current?.lines.push(line);
  }
  const out = new Map();
  for (const { lines } of chunks) {
    const body = lines.join('\n').trimEnd();
    const marker = MARKER.exec(lines[0]);
    // The footer names the script; a date in it, if any, is when its figures were measured (it may span lines and
    // hold parentheses of its own). Notes written by hand may follow it: the section's last footer counts.
    const footers = [...body.matchAll(/^_\(bench\/([\w-]+)\.ts\b([\s\S]*?)\)_[ \t]*$/gm)];
    const footer = footers.at(-1);
    if (footer) footer[2] = /(\d{4}-\d{2}-\d{2})/.exec(footer[2] ?? '')?.[1];
    const failedHeading = /^## ([\w-]+)$/.exec(lines[0]);
    const area = marker?.[1] ?? footer?.[1] ?? failedHeading?.[1];
    if (!area || !areas.includes(area)) continue;
    // A section written by the old run.mjs when its benchmark failed holds no figures.
    if (!marker && !footer) continue;
    out.set(area, { text: `${body}\n`, lastGood: marker?.[2] ?? footer?.[2] ?? header ?? 'unknown date' });
  }
  return out;
}

/** A freshly measured section. */
export function sectionBlock(area, body, date) {
  return `<!-- bench:${area} last-good:${date} -->\n${body}`;
}

/** The section of an area whose benchmark failed: its last good figures under a dated note, or the note alone. */
export function keptSection(area, previous, { date, exit }) {
  const note = `> The ${area} benchmark failed on ${date} (exit ${exit}); figures below are from the last good run`;
  if (!previous) return `## ${area}\n\n${note.replace('figures below are from the last good run', 'there are no earlier figures to keep')}.\n`;
  const lines = previous.text.trimEnd().split('\n').filter((l) => !MARKER.test(l));
  // An earlier failure's note (and the blank line before it) goes: the new one says the same with today's date.
  const kept = lines.filter((l, i) => !NOTE.test(l) && !(l === '' && NOTE.test(lines[i + 1] ?? '')));
  const heading = kept.findIndex((l) => l.startsWith('## '));
  kept.splice(heading + 1, 0, '', `${note} (${previous.lastGood}).`);
  return `<!-- bench:${area} last-good:${previous.lastGood} -->\n${kept.join('\n')}\n`;
}
