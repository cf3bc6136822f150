import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { InfraError } from '../errors.js';
import { findExecutable } from '../process/executables.js';

/** Kafka 4.x brokers need Java 17 or newer. */
export const MIN_JAVA_MAJOR = 17;

let checked: Promise<string> | undefined;

/** Path of a usable `java` ($JAVA_HOME/bin/java first, then PATH), checked once per process. */
export function findJava(): Promise<string> {
  checked ??= locate();
  // A failure is not cached: the user may install Java and retry in the same process.
  checked.catch(() => {
    checked = undefined;
  });
  return checked;
}

async function locate(): Promise<string> {
  const candidates = [process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : undefined, 'java'];
  const java = candidates.map((c) => (c ? findExecutable(c) : undefined)).find((c) => c !== undefined);
  if (!java) {
    throw new InfraError(
      'PROM_RELAY_INFRA_JAVA_MISSING',
      `No Java runtime found (checked $JAVA_HOME/bin/java and PATH): the Kafka broker needs Java ${MIN_JAVA_MAJOR}+; install it (\`apt-get install -y openjdk-17-jre-headless\`) or set JAVA_HOME`,
    );
  }
  const banner = await new Promise<string>((resolve, reject) => {
    execFile(java, ['-version'], { timeout: 15_000 }, (err, stdout, stderr) => {
      if (err) reject(new InfraError('PROM_RELAY_INFRA_JAVA_MISSING', `${java} -version failed: ${err.message}`, { cause: err }));
      else resolve(`${stderr}${stdout}`);
    });
  });
  const match = /version "(\d+)(?:\.(\d+))?/.exec(banner);
  const major = match ? (match[1] === '1' ? Number(match[2]) : Number(match[1])) : NaN;
  if (!(major >= MIN_JAVA_MAJOR)) {
    throw new InfraError(
      'PROM_RELAY_INFRA_JAVA_MISSING',
      `${java} is Java ${Number.isNaN(major) ? '(unknown version)' : major}; the Kafka broker needs Java ${MIN_JAVA_MAJOR}+: install openjdk-17-jre-headless or point JAVA_HOME at a newer JDK`,
    );
  }
  return java;
}
