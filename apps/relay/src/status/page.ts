// The status page at `/`: server-rendered HTML from the same snapshot as /api/v1/status. No script, no CDN, no build
// step: inline CSS and an inline SVG bar plot; it reloads itself every 10 s.
import { stringify as stringifyYaml } from 'yaml';
import type { FlushMinute } from './recorder.js';
import type { StatusSnapshot } from './snapshot.js';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

function ago(now: number, at: number | null | undefined): string {
  if (at === null || at === undefined || at <= 0) return '—';
  const s = Math.max(0, Math.round((now - at) / 1000));
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

function isoTime(at: number): string {
  return at > 0 ? new Date(at).toISOString() : '';
}

function bytes(n: number | null): string {
  if (n === null) return '—';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

function labels(grouping: Record<string, string>): string {
  const parts = Object.entries(grouping).map(([k, v]) => `${k}="${v}"`);
  return parts.length === 0 ? '' : `{${parts.join(', ')}}`;
}

function table(head: string[], rows: string[][], cls: string, empty: string): string {
  if (rows.length === 0) return `<p class="empty ${cls}">${escapeHtml(empty)}</p>`;
  const th = head.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('\n');
  return `<table class="${cls}"><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

const PLOT_W = 600;
const PLOT_H = 80;
const AXIS_H = 14;

/**
 * An SVG of the last hour, one slot per minute: samples sent (blue bar, to the largest minute's count) and samples
 * failed (red bar beside it, to its own largest minute), with the totals in its title.
 */
export function flushPlot(minutes: FlushMinute[], now: number): string {
  const end = Math.floor(now / 60_000) * 60_000;
  const byMinute = new Map(minutes.map((m) => [m.minute, m]));
  const slots = Array.from({ length: 60 }, (_, i) => byMinute.get(end - (59 - i) * 60_000));
  const maxSent = Math.max(1, ...slots.map((m) => m?.samplesSent ?? 0));
  const maxFailed = Math.max(1, ...slots.map((m) => m?.samplesFailed ?? 0));
  const slot = PLOT_W / 60;
  const h = PLOT_H - AXIS_H;
  const bar = (cls: string, i: number, offset: number, value: number, max: number) => {
    const height = Math.max(1, (h - 2) * (value / max));
    return `<rect class="${cls}" x="${(i * slot + offset).toFixed(1)}" y="${(h - height).toFixed(1)}" width="${(slot / 2 - 1).toFixed(1)}" height="${height.toFixed(1)}"><title>${escapeHtml(`${new Date(end - (59 - i) * 60_000).toISOString().slice(11, 16)} UTC: ${value}`)}</title></rect>`;
  };
  const bars = slots.flatMap((m, i) => [
    ...(m && m.samplesSent > 0 ? [bar('sent', i, 0.5, m.samplesSent, maxSent)] : []),
    ...(m && m.samplesFailed > 0 ? [bar('failed', i, slot / 2, m.samplesFailed, maxFailed)] : []),
  ]);
  const totalSent = minutes.reduce((n, m) => n + m.samplesSent, 0);
  const totalFailed = minutes.reduce((n, m) => n + m.samplesFailed, 0);
  const flushes = minutes.reduce((n, m) => n + m.flushes, 0);
  const failedFlushes = minutes.reduce((n, m) => n + m.failedFlushes, 0);
  const title = `last hour: ${flushes} flushes (${failedFlushes} failed), ${totalSent} samples sent, ${totalFailed} failed; per minute at most ${maxSent} sent${totalFailed > 0 ? `, ${maxFailed} failed` : ''}`;
  return [
    `<svg class="plot" role="img" viewBox="0 0 ${PLOT_W} ${PLOT_H}" width="${PLOT_W}" height="${PLOT_H}" data-sent="${totalSent}" data-failed="${totalFailed}">`,
    `<title>${escapeHtml(title)}</title>`,
    `<line class="axis" x1="0" y1="${h}" x2="${PLOT_W}" y2="${h}"/>`,
    ...bars,
    `<text x="2" y="${PLOT_H - 2}">−60 min</text><text x="${PLOT_W / 2}" y="${PLOT_H - 2}" text-anchor="middle">−30 min</text><text x="${PLOT_W - 2}" y="${PLOT_H - 2}" text-anchor="end">now</text>`,
    '</svg>',
    `<p class="legend"><span class="k-sent">▮</span> samples sent · <span class="k-failed">▮</span> samples failed, per minute · ${escapeHtml(title)}</p>`,
  ].join('\n');
}

const CSS = `
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fafafa}
h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.1em;margin:1.6em 0 .4em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;background:#fff;min-width:40em}th,td{padding:.25em .7em;border:1px solid #e2e2e2;text-align:left;vertical-align:top}
th{background:#f0f0f0;font-weight:600}.num{font-variant-numeric:tabular-nums}
.ok{color:#17803d}.bad{color:#b42318;font-weight:600}.empty{color:#777;font-style:italic}
code,pre{font:12px ui-monospace,monospace}pre{background:#fff;border:1px solid #e2e2e2;padding:.7em;overflow:auto;max-height:30em}
.plot{background:#fff;border:1px solid #e2e2e2}.plot .sent{fill:#1f6feb}.plot text{font-size:10px;fill:#777}
.plot .failed{fill:#d92d20}.plot .axis{stroke:#ccc}.legend{color:#555;font-size:12px}.k-sent{color:#1f6feb}.k-failed{color:#d92d20}
.meta span{margin-right:1.2em}ul.producers{margin:0;padding-left:1.1em}
`;

function num(v: number | string | null): string {
  return `<span class="num">${escapeHtml(v ?? '—')}</span>`;
}

export function renderStatusPage(s: StatusSnapshot): string {
  const now = s.now;
  const checks = Object.entries(s.checks)
    .map(([k, v]) => `<span class="check"><code>${escapeHtml(k)}</code>: ${escapeHtml(v)}</span>`)
    .join(' · ');
  const out: string[] = [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta http-equiv="refresh" content="10">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>prom-relay ${escapeHtml(s.role)} — ${escapeHtml(s.owner)}</title>`,
    `<style>${CSS}</style></head><body>`,
    `<h1>prom-relay <small>${escapeHtml(s.role)}</small></h1>`,
    `<p class="meta"><span>version ${escapeHtml(s.version)}</span><span>owner <code>${escapeHtml(s.owner)}</code></span>`,
    `<span>started ${escapeHtml(ago(now, s.startedAt))}</span>${s.workers > 1 ? `<span>${s.workers} ingest workers</span>` : ''}`,
    `<span id="ready" class="${s.ready ? 'ok' : 'bad'}">${s.ready ? 'ready' : 'not ready'}</span></p>`,
    `<p class="checks">${checks}</p>`,
    '<p class="meta"><a href="/api/v1/status">JSON</a> · <a href="/metrics">metrics</a> · <a href="/readyz">readyz</a></p>',
  ];

  if (s.partitions !== null) {
    out.push('<h2 id="partitions">Partitions owned</h2>');
    out.push(
      table(
        ['topic', 'partition', 'kind', 'next offset', 'high watermark', 'lag', 'series', 'last checkpoint', 'checkpoint size'],
        s.partitions.map((p) => [
          `<code>${escapeHtml(p.topic)}</code>`,
          num(p.partition),
          escapeHtml(p.kind) + (p.caughtUp ? '' : ' <span class="bad">(catching up)</span>'),
          num(p.nextOffset),
          num(p.highWatermark),
          num(p.lag),
          num(p.series),
          escapeHtml(p.checkpointAgeSeconds === null ? '—' : ago(now, now - p.checkpointAgeSeconds * 1000)),
          escapeHtml(bytes(p.checkpointBytes)),
        ]),
        'partitions',
        'no partition owned (waiting for the group assignment, or more relays than partitions)',
      ),
    );
  }

  if (s.flushes !== null) {
    out.push('<h2 id="flushes">Flushes</h2>', flushPlot(s.flushes.minutes, now));
    out.push(
      table(
        ['when', 'result', 'partitions', 'series', 'samples sent', 'samples failed', 'duration', 'error'],
        s.flushes.recent.map((f) => [
          `<span title="${escapeHtml(isoTime(f.at))}">${escapeHtml(ago(now, f.at))}</span>`,
          `<span class="${f.status === 'success' || f.status === 'empty' ? 'ok' : 'bad'}">${escapeHtml(f.status)}</span>`,
          num(f.partitions),
          num(f.series),
          num(f.samplesSent),
          num(f.samplesFailed),
          escapeHtml(`${f.durationMs} ms`),
          escapeHtml(f.error ?? ''),
        ]),
        'flushes',
        'no flush yet',
      ),
    );
  }

  const j = s.jobs;
  out.push(
    '<h2 id="jobs">Jobs</h2>',
    `<p class="legend">Pushes ${j.seenBy === 'consumer' ? 'consumed from the partitions this relay owns' : 'this ingest acknowledged'}; at most ${j.maxJobs} jobs (least recently pushed dropped first${j.evicted > 0 ? `: ${j.evicted} dropped so far` : ''}) and ${j.maxProducersPerJob} producers per job.</p>`,
  );
  out.push(
    table(
      ['job', 'last push', 'pushes', 'producers (most recent first)'],
      j.rows.map((row) => [
        `<code class="job">${escapeHtml(row.job)}</code>`,
        `<span title="${escapeHtml(isoTime(row.lastPush))}">${escapeHtml(ago(now, row.lastPush))}</span>`,
        num(row.pushes),
        `<ul class="producers">${row.producers
          .map((p) => `<li><code class="producer">${escapeHtml(p.producerId)}</code> ${escapeHtml(labels(p.grouping))} · ${escapeHtml(p.lastOp)} ${escapeHtml(ago(now, p.lastPush))} · ${p.pushes} push${p.pushes === 1 ? '' : 'es'}</li>`)
          .join('')}${row.producersEvicted > 0 ? `<li class="empty">${row.producersEvicted} older not shown</li>` : ''}</ul>`,
      ]),
      'jobs',
      'no push seen yet',
    ),
  );

  if (s.deadLetters !== null) {
    const d = s.deadLetters;
    out.push('<h2 id="dead-letters">Dead letters</h2>');
    out.push(
      table(
        ['reason', 'records'],
        Object.entries(d.byReason).map(([reason, n]) => [`<code class="reason">${escapeHtml(reason)}</code>`, num(n)]),
        'dead-letter-reasons',
        'no dead letter since start',
      ),
    );
    if (d.recent.length > 0) {
      out.push(
        table(
          ['when', 'reason', 'outcome', 'from', 'error'],
          d.recent.map((e) => [
            `<span title="${escapeHtml(isoTime(e.at))}">${escapeHtml(ago(now, e.at))}</span>`,
            `<code>${escapeHtml(e.reason)}</code>`,
            `<span class="${e.outcome === 'sent' ? 'ok' : 'bad'}">${escapeHtml(e.outcome === 'sent' ? 'in the DLQ' : 'given up')}</span>`,
            `<code>${escapeHtml(`${e.topic}/${e.partition}@${e.offset}`)}</code>`,
            escapeHtml(e.error),
          ]),
          'dead-letters-recent',
          '',
        ),
      );
    }
  }

  out.push('<h2 id="config">Effective config <small>(secrets masked)</small></h2>', `<pre class="config">${escapeHtml(stringifyYaml(s.config))}</pre>`);
  out.push('</body></html>\n');
  return out.join('\n');
}
