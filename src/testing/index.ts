export { KarafkaTestKit, ConsumerUnderTest, type TestMessage } from './karafka-test-kit.js';
export { KarafkaTestProducer } from './karafka-test-producer.js';
