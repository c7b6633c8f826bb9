import { Logger } from '@nestjs/common';
import { logLevel, type logCreator } from 'kafkajs';

/**
 * kafkajs's own log lines go to Nest's Logger at debug level: the engine reports what matters
 * through its events. Only the message is kept; kafkajs's extra fields can carry request data.
 */
export const nestLogCreator: logCreator = () => {
  const logger = new Logger('kafkajs');
  return ({ level, log }) => {
    if (level === logLevel.ERROR || level === logLevel.WARN) logger.debug(`${log.message}`);
  };
};
