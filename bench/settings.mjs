/**
 * Fetch settings every measured system uses: kafkajs's defaults (1 MiB per partition, 10 MiB per
 * response) with a 500 ms long poll (nestjs-karafka's cap; kafkajs defaults to 5 s).
 */
export const FETCH = { maxBytesPerPartition: 1_048_576, maxBytes: 10_485_760, maxWaitTimeInMs: 500 };
