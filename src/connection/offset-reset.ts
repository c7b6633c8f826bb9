/** The warning both drivers log when the broker moved a position by itself (offset out of range). */
export function offsetResetWarning(
  topic: string,
  partition: number,
  from: number | string,
  to: number | string,
  reset: 'earliest' | 'latest',
): string {
  return `${topic}/${partition}: offset ${from} is out of range; reset to ${to} (auto.offset.reset ${reset})`;
}
