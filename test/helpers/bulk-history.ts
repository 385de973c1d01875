import { newAccountId, newEventId, newKeyId, newRequestId } from "../../src/application/ids.js";
import { newSecret } from "../../src/application/secrets.js";
import { decide, evolve, type Actor, type ServiceAccountCommand, type State } from "../../src/domain/index.js";
import type { JetStreamEventStore } from "../../src/events/index.js";

const ACTOR: Actor = { kind: "system", reason: "bootstrap" };

/** The commands of one account's history: created, two keys, then updates and rotations in turn. */
function* commandsOf(accountId: string, name: string, events: number): Generator<(now: string) => ServiceAccountCommand> {
  const keyIds = [newKeyId(), newKeyId()];
  yield (now) => ({
    type: "CreateServiceAccount",
    accountId,
    data: { name, description: `bulk ${name}`, roles: ["verifier"], active: true },
    metadata: { now, actor: ACTOR },
  });
  for (const [index, keyId] of keyIds.entries()) {
    const secret = newSecret(keyId);
    yield (now) => ({
      type: "CreateApiKey",
      accountId,
      data: { keyId, name: `key-${index}`, description: "", expiresAt: null, secretHash: secret.secretHash, hint: secret.hint },
      metadata: { now, actor: ACTOR },
    });
  }
  for (let i = 3; i < events; i++) {
    const keyId = keyIds[i % 2]!;
    if (i % 3 === 0) {
      const secret = newSecret(keyId);
      yield (now) => ({
        type: "RotateApiKey",
        accountId,
        data: { keyId, secretHash: secret.secretHash, hint: secret.hint, retainSeconds: 0 },
        metadata: { now, actor: ACTOR },
      });
    } else {
      yield (now) => ({
        type: "UpdateApiKey",
        accountId,
        data: { keyId, description: `revision ${i}` },
        metadata: { now, actor: ACTOR },
      });
    }
  }
}

/**
 * Appends a valid history of `accounts` accounts with `eventsPerAccount` events each straight to the
 * event store (decided with the real decider, sealed and chained by the store's signer), the
 * accounts side by side so that their events interleave in the stream. Answers the account ids.
 */
export async function appendBulkHistory(
  store: JetStreamEventStore,
  options: { accounts: number; eventsPerAccount: number; namePrefix?: string },
): Promise<{ accountIds: string[]; appended: number }> {
  let appended = 0;
  const accountIds: string[] = [];
  const one = async (index: number): Promise<void> => {
    const accountId = newAccountId();
    accountIds.push(accountId);
    let state: State = null;
    let position = { expectedSeq: 0, prevHash: null as string | null, version: 0 };
    for (const command of commandsOf(accountId, `${options.namePrefix ?? "bulk"}-${index}`, options.eventsPerAccount)) {
      const events = decide(command(new Date().toISOString()), state);
      const result = await store.append(accountId, position, events, {
        actor: ACTOR,
        requestId: newRequestId(),
        newEventId,
      });
      for (const event of events) state = evolve(state, event);
      const last = result.at(-1)!;
      position = { expectedSeq: last.seq, prevHash: last.envelope.hash, version: last.envelope.accountVersion };
      appended += result.length;
    }
  };
  await Promise.all(Array.from({ length: options.accounts }, (_, index) => one(index)));
  return { accountIds, appended };
}
