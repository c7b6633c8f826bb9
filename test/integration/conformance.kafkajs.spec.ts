import { describeConsumerClientContract } from '../conformance/consumer-client-contract.js';
import { kafkajsHarness } from '../conformance/kafkajs-harness.js';
import { describeProducerClientContract } from '../conformance/producer-client-contract.js';

describeConsumerClientContract('kafkajs', kafkajsHarness());
describeProducerClientContract('kafkajs', kafkajsHarness());
