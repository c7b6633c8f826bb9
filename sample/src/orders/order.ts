/** What the sample's producer endpoint accepts and its consumer reads. */
export interface Order {
  id: string;
  amount: number;
}
