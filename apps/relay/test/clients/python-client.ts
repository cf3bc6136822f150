// Python's prometheus_client (PyPI prometheus-client, pinned) in a venv under .cache/ (ignored by git), made once with
// pip; shared by the tests that run it.
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../flink/build.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = join(HERE, '..', '..', '..', '..');
export const PYTHON_CLIENT = 'prometheus-client==0.26.0';
const VENV = join(REPO, '.cache', 'python-clients', PYTHON_CLIENT.replace('==', '-'));
/** The venv's interpreter, once ensurePythonClient resolved. */
export const PYTHON = join(VENV, 'bin', 'python');
/** The folder of the tests' Python scripts. */
export const PYTHON_SCRIPTS = join(HERE, 'python');

/** A venv with the pinned client, made once: pip from PyPI. */
export async function ensurePythonClient(): Promise<void> {
  if (existsSync(join(VENV, '.complete'))) return;
  const staging = `${VENV}.partial-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(dirname(staging), { recursive: true });
  const venv = await run('python3', ['-m', 'venv', staging]);
  if (venv.code !== 0) throw new Error(`python3 -m venv failed (Debian: apt-get install python3-venv):\n${venv.output}`);
  // The venv's paths are absolute: made where it will live would be cleaner, but a rename keeps it all-or-nothing;
  // pip runs through the interpreter, so the scripts' shebangs do not matter.
  const pip = await run(join(staging, 'bin', 'python'), ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', PYTHON_CLIENT], { timeoutMs: 300_000 });
  if (pip.code !== 0) throw new Error(`pip could not install ${PYTHON_CLIENT} (network to PyPI? PIP_INDEX_URL for a mirror):\n${pip.output}`);
  writeFileSync(join(staging, '.complete'), `${new Date().toISOString()}\n`);
  if (existsSync(join(VENV, '.complete'))) {
    // Another test file made it meanwhile.
    rmSync(staging, { recursive: true, force: true });
    return;
  }
  rmSync(VENV, { recursive: true, force: true });
  renameSync(staging, VENV);
}
