/**
 * deploy/systemd: prom-relay.service (`prom-relay run`, both roles), prom-relay-ingest.service (`prom-relay ingest`)
 * and prom-relay-aggregate.service (`prom-relay aggregate`). For each, `systemd-analyze verify` finds nothing to say
 * about it (run on a stand-in root holding systemd's own units, the unit, and an executable where ExecStart expects
 * the relay), and `systemd-analyze security --offline` rates its exposure at most 2.0 ("OK"; a plain service rates
 * about 9.6); the three carry the same hardening, line for line.
 */
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEPLOY, run, tool } from './tools.js';

const UNITS = [
  { name: 'prom-relay.service', command: 'run' },
  { name: 'prom-relay-ingest.service', command: 'ingest' },
  { name: 'prom-relay-aggregate.service', command: 'aggregate' },
] as const;
const unitText = (name: string) => readFileSync(join(DEPLOY, 'systemd', name), 'utf8');
/** The unit from its [Service] section on, without comments and without the lines that differ between roles. */
const hardening = (text: string) =>
  text
    .slice(text.indexOf('[Service]'))
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith('ExecStart='))
    .join('\n');
const systemdAnalyze = () => tool('systemd-analyze', "install Debian's systemd package (the machine image has it)");

/** A root with systemd's units, `unitText` installed as `name`, and (optionally) the ExecStart binary. */
function standInRoot(name: string, unitText: string, withBinary = true): string {
  const root = mkdtempSync(join(tmpdir(), 'prom-relay-systemd-'));
  mkdirSync(join(root, 'usr/lib/systemd'), { recursive: true });
  cpSync('/usr/lib/systemd/system', join(root, 'usr/lib/systemd/system'), { recursive: true, verbatimSymlinks: true });
  mkdirSync(join(root, 'etc/systemd/system'), { recursive: true });
  writeFileSync(join(root, 'etc/systemd/system', name), unitText);
  const exec = /^ExecStart=(\S+)/m.exec(unitText)![1]!;
  if (withBinary) {
    mkdirSync(join(root, dirname(exec)), { recursive: true });
    writeFileSync(join(root, exec), '#!/bin/sh\n');
    chmodSync(join(root, exec), 0o755);
  }
  return root;
}

const verify = (name: string, root: string) => run(systemdAnalyze(), ['verify', `--root=${root}`, name]);
const security = (name: string, root: string) => run(systemdAnalyze(), ['security', '--offline=true', `--root=${root}`, '--threshold=20', '--no-pager', name]);

describe('deploy/systemd', () => {
  it('holds the three units, the role units hardened exactly as prom-relay.service', () => {
    expect(readdirSync(join(DEPLOY, 'systemd')).sort()).toEqual(UNITS.map((u) => u.name).sort());
    const base = hardening(unitText('prom-relay.service'));
    expect(base).toMatch(/^SystemCallFilter=@system-service$/m);
    for (const { name } of UNITS) expect(hardening(unitText(name)), name).toBe(base);
  });

  it("sets the container image's malloc environment (glibc's trim threshold held where its default starts)", () => {
    const image = readFileSync(join(DEPLOY, 'container', 'Containerfile'), 'utf8');
    const malloc = [...image.matchAll(/^ENV (MALLOC_\w+=\S+)$/gm)].map((m) => m[1]);
    expect(malloc).toEqual(['MALLOC_TRIM_THRESHOLD_=131072']);
    for (const { name } of UNITS) expect([...unitText(name).matchAll(/^Environment=(MALLOC_\w+=\S+)$/gm)].map((m) => m[1]), name).toEqual(malloc);
  });
});

for (const { name, command } of UNITS) {
  describe(`deploy/systemd/${name}`, () => {
    const unit = unitText(name);

    it('passes systemd-analyze verify without a word', async () => {
      const r = await verify(name, standInRoot(name, unit));
      expect(r.stdout + r.stderr).toBe('');
      expect(r.code).toBe(0);
    }, 30_000);

    it('is rated at most 2.0 by systemd-analyze security --offline', async () => {
      const r = await security(name, standInRoot(name, unit));
      expect(r.code, r.stdout).toBe(0);
      const score = Number(new RegExp(`Overall exposure level for ${name.replaceAll('.', '\\.')}: ([\\d.]+)`).exec(r.stdout)![1]);
      expect(score).toBeLessThanOrEqual(2);
    }, 30_000);

    it(`runs \`prom-relay ${command}\` as a dynamic user with the config as a credential, and stops within a deadline above the relay's own`, () => {
      expect(unit).toMatch(/^DynamicUser=yes$/m);
      expect(unit).toMatch(/^ProtectSystem=strict$/m);
      expect(unit).toMatch(/^LoadCredential=relay\.yaml:\/etc\/prom-relay\/relay\.yaml$/m);
      expect(unit).toMatch(new RegExp(`^ExecStart=/opt/prom-relay/bin/prom-relay ${command} --config %d/relay\\.yaml$`, 'm'));
      expect(unit.match(/^ExecStart=/gm)).toHaveLength(1);
      // the credential path its comments point secret files to is this unit's own
      expect(unit).toContain(`/run/credentials/${name}/NAME`);
      // shutdown.timeout is 30 s by default, and an ingest's primary waits for its workers 1 s longer: SIGKILL comes later
      expect(Number(/^TimeoutStopSec=(\d+)s$/m.exec(unit)![1]) * 1000).toBeGreaterThan(30_000 + 1000);
    }, 30_000);

    it('catches what it claims: a misspelt key, a missing executable, a unit without the hardening', async () => {
      const misspelt = await verify(name, standInRoot(name, unit.replace('ProtectSystem=strict', 'ProtectSytem=strict')));
      expect(misspelt.stderr).toContain("Unknown key 'ProtectSytem'");
      const missing = await verify(name, standInRoot(name, unit, false));
      expect(missing.stderr).toMatch(/is not executable/);
      expect(missing.code).not.toBe(0);
      const plain = await security(name, standInRoot(name, unit.slice(0, unit.indexOf('# ---- identity and file system'))));
      expect(plain.code).not.toBe(0);
    }, 30_000);
  });
}
