/** Package version, kept equal to package.json (a test guards it); sent in the User-Agent. */
export const PUSH_CLIENT_VERSION = '0.1.0';

/** User-Agent of every request: receivers log it, and the spec asks senders to send one. */
export const USER_AGENT = `prom-relay-push-client/${PUSH_CLIENT_VERSION} (node ${process.versions.node})`;
