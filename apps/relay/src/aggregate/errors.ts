import { PromRelayError } from '@prom-relay/codec';

export const AGGREGATE_ERROR_CODES = [
  /** A rule's `match` selector does not parse (position given). */
  'PROM_RELAY_AGGREGATE_SELECTOR',
  /** A rule or option is not of the documented shape (field named). */
  'PROM_RELAY_AGGREGATE_OPTIONS',
  /** `fromState` got something that is not a state written by `toState`. */
  'PROM_RELAY_AGGREGATE_STATE',
] as const;

export type AggregateErrorCode = (typeof AGGREGATE_ERROR_CODES)[number];

/** Bad rules, bad options, bad checkpoint state. Never thrown by `apply` or `collect`. */
export class AggregateError extends PromRelayError<AggregateErrorCode> {
  constructor(code: AggregateErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
