import { hookDecodeMessages } from './decode-messages-hook.js';
import { registerCodecs } from './kafkajs-codecs.js';

export { COMPRESSION_TYPES, compressionUnavailable } from './kafkajs-codecs.js';
export { UndecodableBatchError, undecodableError } from './undecodable.js';

let installed = false;

/**
 * Makes kafkajs read every codec Kafka defines and report a batch it cannot decode for its
 * partition instead of failing the whole Fetch. Idempotent; loads no native package yet.
 */
export function installKafkajsCodecs(): void {
  if (installed) return;
  hookDecodeMessages();
  registerCodecs();
  installed = true;
}
