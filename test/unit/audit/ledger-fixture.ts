import { randomBytes } from "node:crypto";
import { bundleLines } from "../../../src/api/evidence-bundle.js";
import { SYSTEM_GENESIS } from "../../../src/domain/index.js";
import {
  accountSubject,
  advancePosition,
  BUNDLE_FORMAT,
  BUNDLE_VERSION,
  CHECKPOINT_SUBJECT,
  KEYS_SUBJECT,
  sealCheckpoint,
  sealEvent,
  START_POSITION,
  type RawMessage,
} from "../../../src/format/index.js";
import { signerFromSeed, type Signer } from "../../../src/signing/index.js";
import { decideTrust, EMPTY_TRUST, sealStatement } from "../../../src/trust/index.js";

/**
 * A small ledger in memory, as a stream would hold it: the genesis, a name claim, events of two
 * accounts, a checkpoint, more events, and extra messages a test asks for. Made with the project's
 * own sealing code: these tests are about reading bundles, not about the stored format.
 */
export interface Ledger {
  readonly anchor: Signer;
  readonly messages: RawMessage[];
}

const at = (seq: number): Date => new Date(Date.UTC(2026, 11, 5, 10, 0, seq));
const actor = { kind: "system", reason: "bootstrap" } as const;

export function ledger(extra: (seq: number) => RawMessage[] = () => []): Ledger {
  const anchor = signerFromSeed(randomBytes(32));
  const messages: RawMessage[] = [];
  const add = (subject: string, data: Uint8Array): RawMessage => {
    const message = { seq: messages.length + 1, subject, data, time: at(messages.length + 1) };
    messages.push(message);
    return message;
  };
  const [genesisFact] = decideTrust(
    {
      type: "EnrolGenesis",
      data: { kid: anchor.keyId, publicKey: Buffer.from(anchor.publicKey).toString("base64url") },
      metadata: { now: at(1).toISOString(), actor: SYSTEM_GENESIS },
    },
    EMPTY_TRUST,
  );
  const genesis = sealStatement(genesisFact!, EMPTY_TRUST, { id: "stm_genesis", actor: SYSTEM_GENESIS, requestId: null }, anchor);
  const keys = add(KEYS_SUBJECT, Buffer.from(JSON.stringify(genesis)));
  add("kl.name.616c706861", Buffer.from('{"claim":"alpha"}'));

  const chains = new Map<string, { hash: string | null; version: number }>();
  const event = (accountId: string, type: string, data: Record<string, unknown>): void => {
    const chain = chains.get(accountId) ?? { hash: null, version: 0 };
    const envelope = sealEvent(
      { type, accountId, occurredAt: at(messages.length + 1).toISOString(), data } as never,
      { id: `evt_${messages.length + 1}`, actor, requestId: null, accountVersion: chain.version + 1, prevHash: chain.hash },
      anchor,
    );
    chains.set(accountId, { hash: envelope.hash, version: envelope.accountVersion });
    add(accountSubject(accountId), Buffer.from(JSON.stringify(envelope)));
  };
  const alpha = `sa_${"A".repeat(26)}`;
  const beta = `sa_${"B".repeat(26)}`;
  event(alpha, "ServiceAccountCreated", { name: "alpha", description: "", roles: [], active: true });
  event(beta, "ServiceAccountCreated", { name: "beta", description: "ünïcødé ✓ \u2028", roles: [], active: true });
  event(alpha, "ServiceAccountUpdated", { description: "the first" });

  let position = START_POSITION;
  for (const message of messages)
    if (message.subject.startsWith("kl.acct.")) position = advancePosition(position, message.seq, message.data);
  const checkpoint = sealCheckpoint(
    position,
    null,
    at(messages.length + 1).toISOString(),
    anchor,
    { seq: keys.seq, version: 1, hash: genesis.hash },
    { after: 0, seqs: [] },
  );
  add(CHECKPOINT_SUBJECT, Buffer.from(JSON.stringify(checkpoint)));
  event(beta, "ServiceAccountUpdated", { description: "the second" });
  for (const message of extra(messages.length + 1)) add(message.subject, message.data);
  event(alpha, "ServiceAccountUpdated", { description: "the last" });
  return { anchor, messages };
}

/** The bundle of a ledger as the daemon writes it, sealed by `sealer` (null: unsealed). */
export async function bundleOf(of: Ledger, sealer: Signer | null = of.anchor): Promise<string[]> {
  const head = of.messages.length;
  async function* messages(): AsyncGenerator<RawMessage> {
    yield* of.messages;
  }
  const lines: string[] = [];
  const writer = bundleLines({
    header: {
      format: BUNDLE_FORMAT,
      version: BUNDLE_VERSION,
      stream: "KEYLEDGER",
      head,
      anchor: of.anchor.keyId,
      exportedAt: at(99).toISOString(),
    },
    statements: of.messages.filter((message) => message.subject === KEYS_SUBJECT),
    messages: messages(),
    seal: {
      keyId: sealer?.keyId ?? of.anchor.keyId,
      sign: (bytes) => (sealer === null ? null : Buffer.from(sealer.sign(bytes)).toString("base64url")),
    },
  });
  for await (const line of writer) lines.push(line);
  return lines;
}

/** The lines as bytes arriving in chunks of `size`. */
export async function* chunked(lines: readonly string[], size = 64 * 1024): AsyncGenerator<Uint8Array> {
  const bytes = Buffer.from(lines.join(""), "utf8");
  for (let start = 0; start < bytes.length; start += size) yield bytes.subarray(start, start + size);
}
