import { KarafkaConfigError } from '../config/karafka-config.error.js';
import { withHint } from './kafka-client.js';
import { OAuthTokenError } from './oauth-bearer.js';

/** A client error, described for logs and health: its message, a hint for known causes, and whether retrying can help. */
export interface ClientErrorDescription {
  message: string;
  hint?: string;
  /** The message and the hint in one line, for health bodies and status. */
  summary: string;
  fatal: boolean;
}

/** `type`: Kafka's error name (kafkajs names it so; the librdkafka driver sets it); `code`: Node's. */
export type ClientError = Error & { type?: string; code?: string };

/** What a driver knows of an error beyond itself: whether an unknown one is retriable, and what it concerns. */
export interface ClientErrorContext {
  unknownIsRetriable: boolean;
  topic?: string;
  partition?: number;
}

interface KnownCause {
  test: (error: ClientError) => boolean;
  hint?: string;
  fatal: boolean | ((error: ClientError) => boolean);
}

const text = (e: ClientError) => `${e.code ?? ''} ${e.message}`;

/** The troubleshooting sections of Karafka's deployment guide (AWS MSK, Heroku), matched on Kafka's error names and the clients' wording. */
const KNOWN_CAUSES: KnownCause[] = [
  // Found at connect time for a route's own settings: retrying cannot fix configuration.
  { test: (e) => e instanceof KarafkaConfigError, fatal: true },
  {
    test: (e) => e instanceof OAuthTokenError,
    hint: 'the OAuth token provider keeps failing: check oauth.tokenProvider, its credentials and the token endpoint it calls',
    fatal: (e) => (e as OAuthTokenError).exhausted,
  },
  {
    test: (e) => /SASL .*authentication failed|Authentication failed/i.test(e.message),
    hint: 'Authentication failure: either the credentials are wrong (sasl.username, sasl.password, sasl.mechanisms), or, on AWS MSK, the cluster has not picked up newly associated secrets yet: even with the cluster Active, wait a few minutes',
    fatal: true,
  },
  {
    test: (e) =>
      e.type === 'TOPIC_AUTHORIZATION_FAILED' ||
      e.type === 'GROUP_AUTHORIZATION_FAILED' ||
      e.type === 'CLUSTER_AUTHORIZATION_FAILED' ||
      /authorization failed/i.test(e.message),
    hint: "Topic authorization failed: Kafka ACLs do not grant this user the topic or consumer group. On Heroku's multi-tenant plans set the `prefix` option to KAFKA_PREFIX (herokuKafkaConfig() does) and create the consumer groups first; on AWS MSK grant ACLs (allow.everyone.if.no.acl.found=false also blocks auto-creating topics)",
    fatal: true,
  },
  {
    // Karafka's example of a silent crash: members of one group that share no assignment protocol.
    test: (e) => e.type === 'INCONSISTENT_GROUP_PROTOCOL',
    hint: "Incompatible partition.assignment.strategy: the consumer group's members share no partition assignment strategy (another application, or a client with another partition.assignment.strategy, e.g. cooperative-sticky, is in the same group). Give this app its own groupId, or give every member of the group the same strategy",
    fatal: true,
  },
  {
    test: (e) => e.type === 'INVALID_REPLICATION_FACTOR',
    hint: "Invalid replication factor: it exceeds the brokers available; on AWS MSK make default.replication.factor (and the topic's replicationFactor) match the cluster's number of zones",
    fatal: true,
  },
  {
    test: (e) =>
      /self[- ]signed|unable to (verify|get)|certificate|CERT_|ERR_TLS|Hostname\/IP/i.test(text(e)),
    hint: "TLS verification failed: set ssl.ca.pem (or ssl.ca.location) to the CA that signed the broker certificate; if only the host name does not match (Heroku), set 'ssl.endpoint.identification.algorithm': 'none'",
    fatal: false,
  },
  {
    test: (e) =>
      /Closed connection|Connection closed|ApiVersion|before secure TLS connection|wrong version number|ERR_SSL/i.test(
        text(e),
      ),
    hint: 'Disconnected while requesting ApiVersion: might be caused by an incorrect security.protocol (a plaintext client on an SSL listener, or the reverse); configure it exactly as the cluster requires',
    fatal: false,
  },
  {
    test: (e) =>
      /ECONNREFUSED|Connection refused|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|Connection timeout/i.test(
        text(e),
      ),
    hint: "Connection setup timed out or was refused: Kafka is unreachable. Check the brokers' addresses and the port (AWS MSK: 9096 for SASL_SSL, 9094 for SSL, 9092 for plaintext), and that this host can reach the cluster (security group changes take a while to propagate)",
    fatal: false,
  },
];

/** The error and its causes (`cause`, kafkajs's `originalError`), outermost first. */
export function causes(error: Error): ClientError[] {
  const chain: ClientError[] = [];
  for (
    let e: unknown = error;
    e instanceof Error && chain.length < 6;
    e = (e as { cause?: unknown }).cause ?? (e as { originalError?: unknown }).originalError
  ) {
    chain.push(e);
  }
  return chain;
}

/**
 * Names the error and its root cause, and adds the troubleshooting hint of a known cause.
 * `fatal` means retrying cannot help (credentials, ACLs, configuration): the engine gives up.
 * Messages come from the client and this project, never from settings, so they hold no secrets.
 */
export function describeClientError(error: Error): ClientErrorDescription {
  const chain = causes(error);
  const root = chain[chain.length - 1] ?? error;
  const message =
    root === error
      ? `${error.name}: ${error.message}`
      : `${error.name}: ${error.message} (caused by ${root.name}: ${root.message})`;
  for (const cause of KNOWN_CAUSES) {
    const match = chain.find((e) => cause.test(e));
    if (!match) continue;
    const fatal = typeof cause.fatal === 'function' ? cause.fatal(match) : cause.fatal;
    const summary = withHint(message, cause.hint);
    return { message, hint: cause.hint, summary, fatal };
  }
  return { message, summary: message, fatal: false };
}
