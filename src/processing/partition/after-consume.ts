import type { Route } from '../../routing/route.js';

/**
 * Karafka's default strategy, as pure rules: what happens to offsets after `consume()`. The
 * engine and nestjs-karafka/testing both call these, so the kit can never drift from the engine.
 */

/** After a `consume()` that returned: mark its last message, unless marking is the user's or the consumer asked to see messages again. */
export function marksAfterConsume(
  route: Pick<Route, 'manualOffsetManagement'>,
  pausedOrSought: boolean,
): boolean {
  return !route.manualOffsetManagement && !pausedOrSought;
}

/** After a `consume()` that threw: where to retry from, the first message not marked. */
export function retryOffset(firstOffset: number, markedOffset: number | undefined): number {
  return Math.max(firstOffset, markedOffset ?? firstOffset);
}

/** Whether the failing message, after `attempts` tries, goes to the route's DLQ now. */
export function deadLettersNow(route: Pick<Route, 'deadLetterQueue'>, attempts: number): boolean {
  return route.deadLetterQueue !== undefined && attempts > route.deadLetterQueue.maxRetries;
}

/**
 * After a message went to the DLQ: mark it, so the offset moves past it? Always with automatic
 * marking; with manual offset management only when everything before it was marked, or the
 * commit would pass messages the consumer holds unmarked (Karafka's `mark_after_dispatch`).
 */
export function marksAfterDispatch(
  route: Pick<Route, 'manualOffsetManagement'>,
  dispatchedOffset: number,
  markedOffset: number | undefined,
): boolean {
  return !route.manualOffsetManagement || markedOffset === dispatchedOffset;
}
