// Types what the root globalSetup hands to test files through vitest's provide/inject.
declare module 'vitest' {
  export interface ProvidedContext {
    /** Bootstrap addresses of the one broker shared by the whole test run. */
    promRelayKafkaBrokers: string[];
  }
}

export {};
