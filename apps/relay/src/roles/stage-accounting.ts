// What the stages report, counted and told: each request the ingest answered (prom_relay_ingest_requests_total, the
// produce health /readyz reads, a log line), and each record the DLQ wrote or gave up (its counters and the status
// page's recent dead letters). Callbacks for createIngest's `log` and DeadLetterQueue's `events`; no wiring.
import type { Logger } from 'pino';
import type { DeadLetterEvents } from '../dlq/index.js';
import type { IngestLogEntry } from '../ingest/index.js';
import type { KafkaRecord } from '../kafka/index.js';
import { RateLimitedLog } from '../log/index.js';
import type { RelayMetrics } from '../server/index.js';
import type { StatusRecorder } from '../status/index.js';
import type { ProduceHealth } from './produce-health.js';

/**
 * Every answered request is counted; refusals are logged at most 5 lines per error code per 10 s (a flood of bad
 * pushes cannot flood the log), accepted ones at debug.
 */
export function ingestRequestLog(metrics: RelayMetrics, produced: ProduceHealth, logger: Logger): (entry: IngestLogEntry) => void {
  const refusals = new RateLimitedLog(logger);
  return (entry) => {
    metrics.ingestRequests.inc({ api: entry.api, status: String(entry.status), code: entry.code ?? 'none' });
    if (entry.code === 'PROM_RELAY_INGEST_UNAVAILABLE') produced.failed(entry.error ?? 'no acknowledgement');
    else if (entry.level === 'debug') produced.succeeded();
    if (entry.level === 'debug') logger.debug({ stage: 'ingest', ...entry }, entry.msg);
    else refusals.log(entry.level, `${entry.api}/${entry.code ?? entry.status}`, { stage: 'ingest', ...entry }, entry.msg);
  };
}

/** A dead letter written (`sent`) or given up: counted, and kept for the status page. */
export function deadLetterEvents(metrics: RelayMetrics, recorder: StatusRecorder): DeadLetterEvents {
  const deadLetter = (outcome: 'sent' | 'given_up', reason: { code: string; message: string }, record: KafkaRecord, error?: string) =>
    recorder.deadLetter({ reason: reason.code, outcome, error: error === undefined ? reason.message : `${reason.message} (DLQ: ${error})`, topic: record.topic, partition: record.partition, offset: record.offset });
  return {
    sent: (reason, record, truncated) => {
      metrics.deadLetters.inc({ reason: reason.code });
      if (truncated.length > 0) metrics.deadLettersTruncated.inc({ reason: reason.code });
      deadLetter('sent', reason, record);
    },
    failed: (reason, record, error) => {
      metrics.deadLettersFailed.inc({ reason: reason.code, error });
      deadLetter('given_up', reason, record, error);
    },
  };
}
