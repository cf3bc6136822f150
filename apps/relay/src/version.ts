// The relay's version, read once from its package.json (one directory above both src/ and dist/).
import { readFileSync } from 'node:fs';

export const RELAY_VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** What `prom-relay --version` prints. */
export function versionLine(): string {
  return `prom-relay ${RELAY_VERSION} (node ${process.version})\n`;
}
