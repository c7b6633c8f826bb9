import { createRequire, Module } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { guardedDecodeMessages, type KafkajsDecoding } from './guarded-decode-messages.js';

/** The kafkajs whose internals this hook knows; package.json pins it exactly. */
const KAFKAJS_VERSION = '2.2.4';
const DECODE_MESSAGES = './src/protocol/requests/fetch/v4/decodeMessages.js';

const requireHere = createRequire(import.meta.url);

/**
 * Puts {@link guardedDecodeMessages} where kafkajs's Fetch v4-v11 responses require their
 * decoder: Node's require cache, under kafkajs's own file name. kafkajs requires its response
 * modules lazily, per request; any already loaded (a fetch ran before) are evicted, so they
 * load again with the guarded decoder.
 */
export function hookDecodeMessages(): void {
  const kafkajsDir = dirname(requireHere.resolve('kafkajs'));
  const requireKafkajs = createRequire(join(kafkajsDir, 'index.js'));
  const { version } = requireKafkajs('./package.json') as { version: string };
  if (version !== KAFKAJS_VERSION) {
    throw new Error(
      `nestjs-karafka decodes kafkajs ${KAFKAJS_VERSION}'s fetch responses, but kafkajs ${version} is installed at ${kafkajsDir}; remove the override or resolution that replaced it`,
    );
  }
  const target = requireKafkajs.resolve(DECODE_MESSAGES);
  if ((requireHere.cache[target] as { guarded?: true } | undefined)?.guarded) return;

  const decoding: KafkajsDecoding = {
    Decoder: requireKafkajs('./src/protocol/decoder.js') as KafkajsDecoding['Decoder'],
    decodeRecordBatch: requireKafkajs(
      './src/protocol/recordBatch/v0/decoder.js',
    ) as KafkajsDecoding['decodeRecordBatch'],
    decodeMessageSet: requireKafkajs(
      './src/protocol/messageSet/decoder.js',
    ) as KafkajsDecoding['decodeMessageSet'],
  };
  const module = Object.assign(new Module(target), { guarded: true as const });
  module.filename = target;
  module.loaded = true;
  module.exports = guardedDecodeMessages(decoding);
  requireHere.cache[target] = module;

  const fetchDir = join(kafkajsDir, 'src', 'protocol', 'requests', 'fetch') + sep;
  for (const path of Object.keys(requireHere.cache)) {
    if (path.startsWith(fetchDir) && path.endsWith(`${sep}response.js`)) delete requireHere.cache[path];
  }
}
