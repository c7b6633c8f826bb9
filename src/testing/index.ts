export {
  KarafkaTestKit,
  ConsumerUnderTest,
  type TestMessage,
  type TestTransaction,
} from './karafka-test-kit.js';
export { KarafkaTestProducer } from './karafka-test-producer.js';
