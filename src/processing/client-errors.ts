/** A client error, described for logs and health: its message, a hint for known causes, and whether retrying can help. */
export interface ClientErrorDescription {
  message: string;
  hint?: string;
  fatal: boolean;
}

interface KnownCause {
  test: (error: Error & { type?: string; code?: string }) => boolean;
  hint: string;
  fatal: boolean;
}

// The troubleshooting sections of Karafka's deployment guide (MSK, Heroku), for this client.
const KNOWN_CAUSES: KnownCause[] = [
  {
    test: (e) => e.name === 'KafkaJSSASLAuthenticationError' || /SASL|authentication fail/i.test(e.message),
    hint: 'Authentication failure: check sasl.username, sasl.password and sasl.mechanisms; on AWS MSK, newly associated secrets can take a few minutes to work',
    fatal: true,
  },
  {
    test: (e) =>
      e.type === 'TOPIC_AUTHORIZATION_FAILED' ||
      e.type === 'GROUP_AUTHORIZATION_FAILED' ||
      /authorization failed/i.test(e.message),
    hint: 'Topic authorization failed: on Heroku multi-tenant plans, set the `prefix` option to KAFKA_PREFIX so every topic and consumer group is prefixed, and create the consumer groups first',
    fatal: true,
  },
  {
    test: (e) => e.type === 'INVALID_REPLICATION_FACTOR',
    hint: 'Invalid replication factor: it exceeds the number of brokers; lower replicationFactor',
    fatal: true,
  },
  {
    test: (e) =>
      /self[- ]signed|unable to verify|certificate|CERT_|ERR_TLS/i.test(`${e.code ?? ''} ${e.message}`),
    hint: 'TLS verification failed: set ssl.ca.pem (or ssl.ca.location) to the CA that signed the broker certificate',
    fatal: false,
  },
  {
    test: (e) =>
      /ECONNREFUSED|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|Connection timeout|connect ECONN/i.test(
        `${e.code ?? ''} ${e.message}`,
      ),
    hint: 'Connection setup timed out or was refused: the broker is unreachable. Check bootstrap.servers and the port (9096 for SASL_SSL, 9094 for TLS, 9092 for plaintext on AWS MSK) and that this host can reach the cluster',
    fatal: false,
  },
  {
    test: (e) => /Closed connection|Connection closed|ApiVersion|Request ApiVersions/i.test(e.message),
    hint: 'Disconnected while requesting ApiVersion: might be caused by a wrong security.protocol (connecting to an SSL listener without ssl, or the reverse)',
    fatal: false,
  },
];

function causes(error: Error): Error[] {
  const chain: Error[] = [];
  for (
    let e: unknown = error;
    e instanceof Error && chain.length < 5;
    e =
      (e as { cause?: unknown; originalError?: unknown }).cause ??
      (e as { originalError?: unknown }).originalError
  ) {
    chain.push(e);
  }
  return chain;
}

export function describeClientError(error: Error): ClientErrorDescription {
  const chain = causes(error);
  const root = chain[chain.length - 1] ?? error;
  const message =
    root === error
      ? `${error.name}: ${error.message}`
      : `${error.name}: ${error.message} (caused by ${root.name}: ${root.message})`;
  for (const cause of KNOWN_CAUSES) {
    if (chain.some((e) => cause.test(e))) return { message, hint: cause.hint, fatal: cause.fatal };
  }
  return { message, fatal: false };
}
