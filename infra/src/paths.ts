import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** infra/ (this file is infra/src/paths.ts or infra/dist/paths.js). */
export const INFRA_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_ROOT = resolve(INFRA_ROOT, '..');
