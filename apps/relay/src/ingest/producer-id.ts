import type { Grouping } from '@prom-relay/emitter';

/**
 * A stable producer id for an HTTP source: `<source>/job=<job>&<name>=<value>...`. Pushgateway and Remote Write
 * senders have no run id; the group is their identity, so a repeated push of a cumulative counter is not counted twice.
 */
export function groupProducerId(source: 'pushgateway' | 'remote-write', job: string, grouping: Grouping): string {
  const parts = [`job=${encodeURIComponent(job)}`];
  for (const name of Object.keys(grouping).sort()) parts.push(`${name}=${encodeURIComponent(grouping[name]!)}`);
  return `${source}/${parts.join('&')}`;
}
