/** The last offset `AdminClient.read` reads: `count` from `offset`, never past the high watermark (-1 less than `offset` when nothing). */
export function lastOffsetToRead(high: number, offset: number, count: number): number {
  return Math.min(high, offset + count) - 1;
}
