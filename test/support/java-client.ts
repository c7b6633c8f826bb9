import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { brokers, kafkaLibs } from './kafka/connection.mjs';

const SOURCE = fileURLToPath(new URL('./java/JavaClient.java', import.meta.url));

/** Runs the Apache Kafka Java client (test/support/java/JavaClient.java) on the test broker. */
async function javaClient(args: string[]): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)('java', ['-cp', `${kafkaLibs()}/*`, SOURCE, ...args], {
      timeout: 120_000,
    });
    return stdout;
  } catch (error) {
    const { stderr } = error as { stderr?: string };
    throw new Error(`the Java client failed (${args[0]}): ${stderr ?? ''}`, { cause: error });
  }
}

/**
 * Produces `{ n }` for n in 0..count-1, keyed n, to each topic with the Java producer's
 * `compression.type` given for it; one JVM for all.
 */
export async function javaProduce(count: number, compressions: Record<string, string>): Promise<void> {
  const targets = Object.entries(compressions).map(([topic, compression]) => `${topic}=${compression}`);
  await javaClient(['produce', brokers(), String(count), ...targets]);
}

/**
 * Reads `topic` from the start with the Java consumer until `count` records arrived: how many
 * records, and how many distinct n's. The Java client's `isolation.level` is read_uncommitted
 * unless told otherwise.
 */
export async function javaConsume(
  topic: string,
  count: number,
  isolation: 'read_committed' | 'read_uncommitted' = 'read_uncommitted',
): Promise<{ records: number; distinct: number }> {
  const output = await javaClient(['consume', brokers(), topic, String(count), '60000', isolation]);
  const match = /consumed (\d+) distinct (\d+)/.exec(output);
  if (!match) throw new Error(`unexpected Java consumer output: ${output}`);
  return { records: Number(match[1]), distinct: Number(match[2]) };
}
