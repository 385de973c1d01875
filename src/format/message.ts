/** One message of the stream as stored. */
export interface RawMessage {
  readonly seq: number;
  readonly subject: string;
  readonly data: Uint8Array;
  /** When the stream stored it. */
  readonly time: Date;
}
