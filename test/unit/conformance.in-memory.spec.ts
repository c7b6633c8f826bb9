import { describeConsumerClientContract } from '../conformance/consumer-client-contract.js';
import { inMemoryHarness } from '../conformance/in-memory-harness.js';

describeConsumerClientContract('in-memory', inMemoryHarness());
