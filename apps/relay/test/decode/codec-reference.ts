// The text decoder's reference: the codec's generic parser (parseExposition), flattened as decode promises to.
import { parseExposition } from '@prom-relay/codec';
import type { ExpositionLimits, Labels } from '@prom-relay/codec';
import type { InputPoint } from '../../src/model.js';

/**
 * What the codec's generic parser gives, flattened the way decode promises to (empty values dropped, headers override),
 * and the `le="+Inf"` bucket decode adds to a histogram instance (labels but `le`) with buckets and a `_count` but no
 * +Inf bucket.
 */
export function viaCodec(text: string, job: string, grouping: Labels, limits: ExpositionLimits = {}): InputPoint[] {
  const points: InputPoint[] = [];
  for (const family of parseExposition(text, { limits })) {
    const withBuckets = new Set<string>();
    const withInf = new Set<string>();
    const counts: InputPoint[] = [];
    const instance = (labels: Labels) => JSON.stringify(Object.entries(labels).filter(([k]) => k !== '__name__' && k !== 'le').sort());
    for (const s of family.samples) {
      const labels: Labels = { __name__: s.name };
      for (const [k, v] of Object.entries(s.labels)) if (v !== '') labels[k] = v;
      Object.assign(labels, { job }, grouping);
      const point: InputPoint = { family: family.name, type: family.type, labels, value: s.value };
      points.push(point);
      if (family.type !== 'histogram' || 'le' in grouping) continue;
      if (s.name === `${family.name}_bucket` && 'le' in s.labels) withBuckets.add(instance(labels));
      if (s.name === `${family.name}_bucket` && /^\+?(inf|infinity)$/i.test(s.labels['le'] ?? '')) withInf.add(instance(labels));
      if (s.name === `${family.name}_count` && !('le' in s.labels)) counts.push(point);
    }
    for (const c of counts) {
      if (withInf.has(instance(c.labels)) || !withBuckets.has(instance(c.labels))) continue;
      points.push({ ...c, labels: { ...c.labels, __name__: `${family.name}_bucket`, le: '+Inf' } });
    }
  }
  return points;
}
