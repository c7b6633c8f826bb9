import { SetMetadata } from '@nestjs/common';
import type { KarafkaEventName } from './karafka-events.js';

export const KARAFKA_EVENT_LISTENER = 'karafka:event-listener';

/**
 * Subscribes a provider method to a monitor event.
 *
 * @example
 * ```ts
 * @Injectable()
 * export class Alerts {
 *   @OnKarafkaEvent('error.occurred')
 *   notify(event: ErrorEvent) { ... }
 * }
 * ```
 */
export function OnKarafkaEvent(...events: KarafkaEventName[]): MethodDecorator {
  return SetMetadata(KARAFKA_EVENT_LISTENER, events);
}
