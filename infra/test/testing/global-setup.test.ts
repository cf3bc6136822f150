import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectNeedsTestBroker } from '../../src/testing/global-setup.js';
import { REPO_ROOT } from '../../src/paths.js';

describe('projectNeedsTestBroker (who pays for the shared broker)', () => {
  const root = mkdtempSync(join(tmpdir(), 'infra-scan-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('is false for a project whose tests never import @prom-relay/infra/testing', () => {
    mkdirSync(join(root, 'plain', 'test', 'deep'), { recursive: true });
    writeFileSync(join(root, 'plain', 'test', 'deep', 'a.test.ts'), "import { startPrometheus } from '@prom-relay/infra';\n");
    expect(projectNeedsTestBroker(join(root, 'plain'))).toBe(false);
  });

  it('is true when any nested test file or helper imports it, and ignores node_modules', () => {
    mkdirSync(join(root, 'kafka', 'test', 'helpers'), { recursive: true });
    writeFileSync(join(root, 'kafka', 'test', 'helpers', 'broker.ts'), "export { testKafkaBrokers } from '@prom-relay/infra/testing';\n");
    expect(projectNeedsTestBroker(join(root, 'kafka'))).toBe(true);
    mkdirSync(join(root, 'vendored', 'test', 'node_modules', 'x'), { recursive: true });
    writeFileSync(join(root, 'vendored', 'test', 'node_modules', 'x', 'index.ts'), "import '@prom-relay/infra/testing';\n");
    expect(projectNeedsTestBroker(join(root, 'vendored'))).toBe(false);
  });

  it('finds the import in the real infra tree', () => {
    expect(projectNeedsTestBroker(join(REPO_ROOT, 'infra'))).toBe(true);
  });
});
