import { randomBytes } from "node:crypto";
import type { NatsConnection } from "@nats-io/transport-node";
import { newAccountId, newEventId, newKeyId, newRequestId } from "../../src/application/ids.js";
import { newSecret } from "../../src/application/secrets.js";
import {
  decide,
  fold,
  type Actor,
  type CommandMetadata,
  type DomainEvent,
  type ServiceAccountCommand,
} from "../../src/domain/index.js";
import { toDomainEvent, type StoredEvent } from "../../src/format/envelope.js";
import { JetStreamEventStore, type Appended, type EventStoreOptions } from "../../src/events/event-store.js";
import { signerFromSeed, type Signer } from "../../src/signing/ed25519.js";

/** The actor of the commands these tests run. */
export const TEST_ACTOR: Actor = { kind: "system", reason: "bootstrap" };

export const newSigner = (): Signer => signerFromSeed(randomBytes(32));

/**
 * Opens the store on a test stream. `connected`, when given, replaces the store's own view of the
 * connection, so that a test can reach the publish path whatever the connection.
 */
export function openStore(
  nc: NatsConnection,
  stream: string,
  signer: Signer = newSigner(),
  connected?: () => boolean,
): Promise<JetStreamEventStore> {
  const options: EventStoreOptions & { connected?: () => boolean } = {
    stream,
    replicas: 1,
    duplicateWindowMs: 120_000,
    publishTimeoutMs: 5000,
    ...(connected === undefined ? {} : { connected }),
  };
  return JetStreamEventStore.open(nc, signer, options);
}

export type CommandOf<T extends ServiceAccountCommand["type"]> = Extract<ServiceAccountCommand, { type: T }>;

export function command<T extends ServiceAccountCommand["type"]>(
  type: T,
  accountId: string,
  data: CommandOf<T>["data"],
  metadata: CommandMetadata = { now: new Date().toISOString(), actor: TEST_ACTOR },
): CommandOf<T> {
  return { type, accountId, data, metadata } as CommandOf<T>;
}

export const createAccount = (accountId: string, name: string) =>
  command("CreateServiceAccount", accountId, { name, description: `about ${name}`, roles: ["verifier"], active: true });

export function createKey(accountId: string, name: string, keyId = newKeyId()) {
  const secret = newSecret(keyId);
  return command("CreateApiKey", accountId, {
    keyId,
    name,
    description: "",
    expiresAt: null,
    secretHash: secret.secretHash,
    hint: secret.hint,
  });
}

/**
 * Decides a command on the account's state folded from the stream itself (not from a read model)
 * and appends the result at the account's head: a second writer that needs no read model.
 */
export async function runOnStream(
  store: JetStreamEventStore,
  cmd: ServiceAccountCommand,
  msgIdOf?: (event: DomainEvent) => string | undefined,
): Promise<Appended[]> {
  const history = await store.readAccount(cmd.accountId);
  const state = fold(history.map(toDomainEvent));
  const last = history.at(-1);
  return store.append(
    cmd.accountId,
    { expectedSeq: last?.seq ?? 0, prevHash: last?.hash ?? null, version: state?.version ?? 0 },
    decide(cmd, state),
    { actor: cmd.metadata.actor, requestId: newRequestId(), newEventId, msgIdOf },
  );
}

/** Appends a created account with a few keys, one rename and one rotation; answers its id and key ids. */
export async function seedAccount(store: JetStreamEventStore, name: string): Promise<{ accountId: string; keyIds: string[] }> {
  const accountId = newAccountId();
  await runOnStream(store, createAccount(accountId, name));
  const keyIds: string[] = [];
  for (const keyName of ["primary", "secondary"]) {
    const cmd = createKey(accountId, keyName);
    keyIds.push(cmd.data.keyId);
    await runOnStream(store, cmd);
  }
  await runOnStream(
    store,
    command("UpdateApiKey", accountId, { keyId: keyIds[1]!, name: "renamed", description: "now described" }),
  );
  const secret = newSecret(keyIds[0]!);
  await runOnStream(
    store,
    command("RotateApiKey", accountId, {
      keyId: keyIds[0]!,
      secretHash: secret.secretHash,
      hint: secret.hint,
      retainSeconds: 3600,
    }),
  );
  return { accountId, keyIds };
}

/** Every entry of a LevelDB read model, in key order. */
export async function dump(db: { iterator(): AsyncIterable<[string, unknown]> }): Promise<Array<[string, unknown]>> {
  const entries: Array<[string, unknown]> = [];
  for await (const entry of db.iterator()) entries.push(entry);
  return entries;
}

export function foldStored(events: readonly StoredEvent[]) {
  return fold(events.map(toDomainEvent));
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves once `condition` holds, polling; fails after `timeoutMs`. */
export async function eventually(condition: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(20);
  }
}
