import { headers as natsHeaders, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { STREAM_SUBJECTS } from "../../src/format/index.js";
import { SIGNING_KEYS_BUCKET } from "../../src/events/index.js";

/** One message of a stream as stored: what an attacker with a backup of it holds. */
export interface StoredMessage {
  readonly seq: number;
  readonly subject: string;
  readonly data: Uint8Array;
  /** The application's own headers (`Kl-*`); JetStream's `Nats-*` headers are left out. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
}

/** Every message of a stream (events, name claims and checkpoints), in stream order, raw. */
export async function readStoredMessages(nc: NatsConnection, stream: string): Promise<StoredMessage[]> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(stream);
  const messages: StoredMessage[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const message = await jsm.streams.getMessage(stream, { seq });
    if (message === null) continue;
    const headers: Array<readonly [string, string]> = [];
    if (message.header !== undefined) {
      for (const [key, values] of message.header) {
        if (key.toLowerCase().startsWith("nats-")) continue;
        for (const value of values) headers.push([key, value]);
      }
    }
    messages.push({ seq: message.seq, subject: message.subject, data: new Uint8Array(message.data), headers });
  }
  return messages;
}

/** Creates a keyledger stream as the daemon does: its subjects, deletes and purges denied. */
export async function createKeyledgerStream(jsm: JetStreamManager, name = "KEYLEDGER"): Promise<void> {
  await jsm.streams.add({
    name,
    subjects: [...STREAM_SUBJECTS],
    num_replicas: 1,
    duplicate_window: 120_000 * 1_000_000,
    deny_delete: true,
    deny_purge: true,
    allow_rollup_hdrs: false,
  });
}

/** Copies every entry of the signing-key bucket (key id → base64url public key) to another server. */
export async function copySigningKeys(source: NatsConnection, target: NatsConnection): Promise<number> {
  const from = await new Kvm(source).open(SIGNING_KEYS_BUCKET);
  const to = await new Kvm(target).create(SIGNING_KEYS_BUCKET, { history: 1 });
  let copied = 0;
  for await (const key of await from.keys()) {
    const entry = await from.get(key);
    if (entry === null || entry.operation !== "PUT") continue;
    await to.put(key, entry.value);
    copied += 1;
  }
  return copied;
}

/**
 * Publishes messages, in the given order, into a stream on another server (as someone restoring or
 * rewriting a backup would), each on its original subject with its `Kl-*` headers. Answers the
 * sequence each got in the copy, in the same order.
 */
export async function publishCopy(target: NatsConnection, messages: readonly StoredMessage[]): Promise<number[]> {
  const js = jetstream(target);
  const seqs: number[] = [];
  for (const message of messages) {
    const headers = natsHeaders();
    for (const [key, value] of message.headers) headers.append(key, value);
    const ack = await js.publish(message.subject, message.data, message.headers.length > 0 ? { headers } : {});
    seqs.push(ack.seq);
  }
  return seqs;
}
