import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compress, decodeWriteRequest, decodeWriteRequestV2, decompress, encodeWriteRequest } from '../src/index.js';
import { runCli } from '../src/cli.js';

const input = {
  timeseries: [
    {
      labels: { __name__: 'up', job: 'x' },
      samples: [
        { value: 1, timestamp: 1700000000000 },
        { value: 'NaN', timestamp: 1700000000001 },
        { value: '+Inf', timestamp: 1700000000002 },
        { value: '-Inf', timestamp: 1700000000003 },
        { value: 'StaleNaN', timestamp: 1700000000004 },
      ],
    },
  ],
};

function json(value: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(value));
}

describe('prom-codec CLI', () => {
  it('encode writes a snappy RW 1.0 body with special values mapped', () => {
    const result = runCli(['encode'], json(input));
    expect(result.exitCode).toBe(0);
    const req = decodeWriteRequest(decompress(result.stdout));
    expect(req.timeseries[0]!.labels).toEqual({ __name__: 'up', job: 'x' });
    expect(req.timeseries[0]!.samples).toEqual([
      { value: 1, timestamp: 1700000000000 },
      { value: NaN, timestamp: 1700000000001 },
      { value: Infinity, timestamp: 1700000000002 },
      { value: -Infinity, timestamp: 1700000000003 },
      { value: NaN, timestamp: 1700000000004, stale: true },
    ]);
  });

  it('encode --v2 writes RW 2.0 and decode --v2 gives the same JSON back', () => {
    const body = runCli(['encode', '--v2'], json(input)).stdout;
    expect(decodeWriteRequestV2(decompress(body)).timeseries[0]!.labels).toEqual({ __name__: 'up', job: 'x' });
    const back = runCli(['decode', '--v2'], body);
    expect(back.exitCode).toBe(0);
    expect(JSON.parse(Buffer.from(back.stdout).toString())).toEqual(input);
  });

  it('decode prints special values as strings', () => {
    const body = compress(encodeWriteRequest({ timeseries: [{ labels: { __name__: 'a' }, samples: [{ value: NaN, timestamp: 5, stale: true }, { value: -Infinity, timestamp: 6 }] }] }));
    const out = JSON.parse(Buffer.from(runCli(['decode'], body).stdout).toString());
    expect(out.timeseries[0].samples).toEqual([{ value: 'StaleNaN', timestamp: 5 }, { value: '-Inf', timestamp: 6 }]);
  });

  it('reports bad input with a code and exit 1, bad usage with exit 2', () => {
    const bad = runCli(['encode'], Buffer.from('{"timeseries":[{"labels":{"__name__":"up"},"samples":[{"value":"x","timestamp":1}]}]}'));
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain('PROM_RELAY_CODEC_INVALID_INPUT');
    expect(bad.stderr).toContain('$.timeseries[0].samples[0].value');
    expect(runCli(['encode'], Buffer.from('not json')).stderr).toContain('stdin is not JSON');
    const garbage = runCli(['decode'], Buffer.from([0x05, 0x00, 0x41]));
    expect(garbage.exitCode).toBe(1);
    expect(garbage.stderr).toContain('PROM_RELAY_CODEC_SNAPPY');
    expect(runCli(['frobnicate'], new Uint8Array()).exitCode).toBe(2);
    expect(runCli(['encode', '--v3'], new Uint8Array()).stderr).toContain('unknown option --v3');
  });

  it('runs as a process: binary stdout for encode, stdin for decode', () => {
    const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
    const run = (args: string[], stdin: Uint8Array) =>
      spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `import(${JSON.stringify(cli)}).then((m) => m.main(${JSON.stringify(args)}))`], {
        input: stdin,
        cwd: fileURLToPath(new URL('../../..', import.meta.url)),
        timeout: 30_000,
      });
    const encoded = run(['encode'], json(input));
    expect(encoded.status).toBe(0);
    expect(decodeWriteRequest(decompress(encoded.stdout)).timeseries[0]!.samples).toHaveLength(5);
    const decoded = run(['decode'], encoded.stdout);
    expect(decoded.status).toBe(0);
    expect(JSON.parse(decoded.stdout.toString())).toEqual(input);
  });
});
