import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kafkaConfig } from '../../src/kafka/index.js';

describe('kafkaConfig (SSL and SASL pass-through to kafkajs)', () => {
  it('reads the PEM files of kafka.ssl and passes SASL credentials', () => {
    const dir = mkdtempSync(join(tmpdir(), 'relay-tls-'));
    writeFileSync(join(dir, 'ca.pem'), 'CA-PEM');
    writeFileSync(join(dir, 'cert.pem'), 'CERT-PEM');
    writeFileSync(join(dir, 'key.pem'), 'KEY-PEM');
    const config = kafkaConfig({
      brokers: ['b1:9093'],
      clientId: 'relay',
      ssl: { enabled: true, caFile: join(dir, 'ca.pem'), certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem'), rejectUnauthorized: false },
      sasl: { mechanism: 'scram-sha-512', username: 'relay', password: 'pw' },
    });
    expect(config.brokers).toEqual(['b1:9093']);
    expect(config.ssl).toEqual({ ca: ['CA-PEM'], cert: 'CERT-PEM', key: 'KEY-PEM', rejectUnauthorized: false });
    expect(config.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'relay', password: 'pw' });
  });

  it('leaves TLS and SASL off when not configured', () => {
    const config = kafkaConfig({ brokers: ['b1:9092'], clientId: 'relay', ssl: { enabled: false, rejectUnauthorized: true } });
    expect(config.ssl).toBeUndefined();
    expect(config.sasl).toBeUndefined();
  });
});
