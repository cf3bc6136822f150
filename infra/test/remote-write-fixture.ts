/**
 * A minimal Remote Write 1.0 body built by hand (protobuf + an all-literal snappy block), so infra's
 * tests prove Prometheus receives remote writes without depending on the codec package.
 */
function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

function field(tag: number, bytes: number[]): number[] {
  return [(tag << 3) | 2, ...varint(bytes.length), ...bytes];
}

const utf8 = (s: string): number[] => [...Buffer.from(s, 'utf8')];

/** WriteRequest{ timeseries: [{ labels (sorted), samples: [{ value, timestamp }] }] } */
export function writeRequest(series: { labels: Record<string, string>; samples: { value: number; timestamp: number }[] }[]): Uint8Array {
  const out: number[] = [];
  for (const s of series) {
    const ts: number[] = [];
    for (const name of Object.keys(s.labels).sort()) {
      ts.push(...field(1, [...field(1, utf8(name)), ...field(2, utf8(s.labels[name] ?? ''))]));
    }
    for (const sample of s.samples) {
      const value = Buffer.alloc(8);
      value.writeDoubleLE(sample.value);
      ts.push(...field(2, [0x09, ...value, 0x10, ...varint(sample.timestamp)]));
    }
    out.push(...field(1, ts));
  }
  return Uint8Array.from(out);
}

/** Snappy block format with literal elements only (valid, uncompressed). */
export function snappyLiteral(raw: Uint8Array): Uint8Array {
  const out: number[] = varint(raw.length);
  for (let i = 0; i < raw.length; i += 65536) {
    const chunk = raw.subarray(i, i + 65536);
    const n = chunk.length - 1;
    if (n < 60) out.push(n << 2);
    else if (n < 256) out.push(60 << 2, n);
    else out.push(61 << 2, n & 0xff, n >> 8);
    out.push(...chunk);
  }
  return Uint8Array.from(out);
}

export async function remoteWrite(url: string, body: Uint8Array): Promise<{ status: number; text: string }> {
  const response = await fetch(url, {
    method: 'POST',
    body: snappyLiteral(body),
    headers: {
      'Content-Encoding': 'snappy',
      'Content-Type': 'application/x-protobuf',
      'X-Prometheus-Remote-Write-Version': '0.1.0',
      'User-Agent': 'prom-relay-infra-test',
    },
  });
  return { status: response.status, text: await response.text() };
}

/** io.prometheus.write.v2.Request{ symbols, timeseries: [{ labels_refs, samples }] }, built by hand like writeRequest. */
export function writeRequestV2(series: { labels: Record<string, string>; samples: { value: number; timestamp: number }[] }[]): Uint8Array {
  const symbols = [''];
  const ref = (s: string): number => {
    let i = symbols.indexOf(s);
    if (i < 0) i = symbols.push(s) - 1;
    return i;
  };
  const body: number[] = [];
  for (const s of series) {
    const refs: number[] = [];
    for (const name of Object.keys(s.labels).sort()) refs.push(...varint(ref(name)), ...varint(ref(s.labels[name] ?? '')));
    const ts: number[] = [...field(1, refs)];
    for (const sample of s.samples) {
      const value = Buffer.alloc(8);
      value.writeDoubleLE(sample.value);
      ts.push(...field(2, [0x09, ...value, 0x10, ...varint(sample.timestamp)]));
    }
    body.push(...field(5, ts));
  }
  return Uint8Array.from([...symbols.flatMap((s) => field(4, utf8(s))), ...body]);
}

/** POSTs a Remote Write 2.0 body; answers the status, the written-count headers and the text. */
export async function remoteWriteV2(url: string, body: Uint8Array): Promise<{ status: number; samplesWritten: string | null; text: string }> {
  const response = await fetch(url, {
    method: 'POST',
    body: snappyLiteral(body),
    headers: {
      'Content-Encoding': 'snappy',
      'Content-Type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request',
      'X-Prometheus-Remote-Write-Version': '2.0.0',
      'User-Agent': 'prom-relay-infra-test',
    },
  });
  return { status: response.status, samplesWritten: response.headers.get('X-Prometheus-Remote-Write-Samples-Written'), text: await response.text() };
}
