import { isValidLabelName } from '@prom-relay/codec';
import { PushClientError } from '../../errors.js';

/**
 * One path segment pair for a grouping label, as the Go client writes it: values that are empty or hold
 * a `/` go as `<name>@base64/<URL-safe base64 without padding>` (empty: `=`); others are path-escaped.
 */
export function encodeGroupingSegment(name: string, value: string): string {
  if (value === '') return `${name}@base64/=`;
  if (value.includes('/')) return `${name}@base64/${Buffer.from(value, 'utf8').toString('base64url')}`;
  return `${name}/${encodeURIComponent(value)}`;
}

/** `/metrics/job/<job>{/<name>/<value>}` with the grouping labels in the order given. */
export function groupingPath(job: string, grouping: ReadonlyArray<readonly [string, string]>): string {
  let path = `/metrics/${encodeGroupingSegment('job', job)}`;
  for (const [name, value] of grouping) path += `/${encodeGroupingSegment(name, value)}`;
  return path;
}

export function checkGroupingLabel(name: string, value: unknown): void {
  if (typeof name !== 'string' || !isValidLabelName(name) || name.startsWith('__')) {
    throw new PushClientError('PROM_RELAY_PUSH_INVALID_OPTIONS', `grouping label name ${JSON.stringify(name)} is not a valid label name`, {
      field: 'grouping',
    });
  }
  if (name === 'job') {
    throw new PushClientError('PROM_RELAY_PUSH_INVALID_OPTIONS', 'grouping label "job" is set by the job argument', { field: 'grouping' });
  }
  if (typeof value !== 'string') {
    throw new PushClientError('PROM_RELAY_PUSH_INVALID_OPTIONS', `grouping label ${name} needs a string value, got ${typeof value}`, {
      field: `grouping.${name}`,
    });
  }
}

/** Names that tell machines of one job apart; without one, pushes from several machines overwrite each other. */
const INSTANCE_LIKE = /^(instance|host|hostname|node|nodename|pod|pod_name|machine|container|container_id|replica|worker|worker_id|task|task_id|executor|executor_id|ip|address|process|pid)$/i;

export function isInstanceLike(name: string): boolean {
  return INSTANCE_LIKE.test(name);
}
