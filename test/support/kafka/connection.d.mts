/** Bootstrap servers, 'host:port[,host:port]'. */
export function brokers(): string;
export interface ScramUser {
  username: string;
  password: string;
}
export interface HarnessConnectionInfo {
  version: string;
  brokers: string;
  saslSsl: {
    brokers: string;
    caPemPath: string;
    caPem: string;
    users: Record<'SCRAM-SHA-256' | 'SCRAM-SHA-512', ScramUser>;
  };
  oauth: { brokers: string };
  logFile: string;
  dataDir: string;
  connectionFile: string;
}
/** The harness broker's SASL_SSL and OAUTHBEARER listeners, or null for an external broker. */
export function connectionInfo(): HarnessConnectionInfo | null;
/** A topic or group name no other test uses. */
export function uniqueName(prefix: string): string;
/** The harness's Kafka jars directory, for running the Java client: `java -cp "<dir>/*"`. */
export function kafkaLibs(): string;
