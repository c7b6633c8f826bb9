import { Injectable, type Type } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { CONSUMER_METADATA, type ConsumerMetadata } from './consumer.decorator.js';

/** Reads what `@Consumer` recorded (the @nestjs/bullmq accessor pattern). */
@Injectable()
export class ConsumerMetadataAccessor {
  constructor(private readonly reflector: Reflector) {}

  getConsumerMetadata(target: Type): ConsumerMetadata | undefined {
    return this.reflector.get<ConsumerMetadata | undefined>(CONSUMER_METADATA, target);
  }
}
