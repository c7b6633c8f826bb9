import { describeConsumerClientContract } from '../conformance/consumer-client-contract.js';
import { kafkajsHarness } from '../conformance/kafkajs-harness.js';

describeConsumerClientContract('kafkajs', kafkajsHarness());
