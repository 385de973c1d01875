import { ConflictError } from "../domain/index.js";
import type { JetStreamEventStore } from "./event-store.js";
import { isWrongLastSequence, translate } from "./nats-errors.js";
import { nameSubject } from "../format/index.js";

const ATTEMPTS = 5;

/** A claim of an account name, appended to the name's subject in the event stream. */
export interface NameClaim {
  readonly name: string;
  readonly accountId: string;
  readonly claimedAt: string;
}

/** Answers whether the account behind an existing claim still holds the name. */
export type ClaimHeld = (claim: NameClaim) => Promise<boolean>;

/**
 * Account names are reserved through the stream itself: a claim is appended to the name's subject
 * with the expected last sequence of that subject (0 for a name never claimed), so of two daemons
 * claiming one name at once exactly one succeeds. A claim whose account no longer holds the name
 * (deleted, renamed, or never created) is taken over the same way.
 */
export class NameRegistry {
  constructor(private readonly store: JetStreamEventStore) {}

  async claim(name: string, accountId: string, now: string, held: ClaimHeld): Promise<void> {
    const subject = nameSubject(name);
    const js = this.store.jetstream;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const current = await this.current(name);
      if (current !== null) {
        if (current.claim.accountId === accountId) return;
        if (await held(current.claim)) throw new ConflictError(`a service account named "${name}" already exists`);
      }
      const claim: NameClaim = { name, accountId, claimedAt: now };
      try {
        await js.publish(subject, JSON.stringify(claim), {
          expect: { lastSubjectSequence: current?.seq ?? 0 },
          timeout: this.store.options.publishTimeoutMs,
        });
        return;
      } catch (error) {
        if (isWrongLastSequence(error)) continue;
        throw translate(error, "reserving a name");
      }
    }
    throw new ConflictError(`a service account named "${name}" already exists`);
  }

  async current(name: string): Promise<{ seq: number; claim: NameClaim } | null> {
    try {
      const message = await this.store.manager.streams.getMessage(this.store.options.stream, {
        last_by_subj: nameSubject(name),
      });
      if (message === null) return null;
      // The claim's age is the stream's own timestamp of it, not what the claim says of itself.
      return {
        seq: message.seq,
        claim: { ...parseClaim(message.data, name), claimedAt: new Date(message.timestamp).toISOString() },
      };
    } catch (error) {
      throw translate(error, "reading a name claim");
    }
  }
}

/** A claim that cannot be read holds no name (its account id matches none), so it can be taken over. */
function parseClaim(data: Uint8Array, name: string): NameClaim {
  try {
    const claim = JSON.parse(Buffer.from(data).toString("utf8")) as Partial<NameClaim>;
    if (typeof claim.accountId === "string" && typeof claim.claimedAt === "string")
      return { name, accountId: claim.accountId, claimedAt: claim.claimedAt };
  } catch {
    // fall through
  }
  return { name, accountId: "", claimedAt: new Date(0).toISOString() };
}
