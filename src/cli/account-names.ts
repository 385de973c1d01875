import { KeyledgerApiError, type EventEnvelope, type KeyledgerClient } from "../client/http.js";

/** At most this many accounts are looked up by id while one command prints events; beyond, ids are shown. */
const MAX_LOOKUPS = 500;

/**
 * The names of service accounts as `keyledger events` meets them: learned from the events it prints
 * (a creation or a rename names the account from there on), and for an account first met some other
 * way (a filtered or later page), asked of the daemon as it was just before that event. An account
 * the daemon cannot name for this caller keeps its id.
 */
export class AccountNames {
  private readonly names = new Map<string, string | null>();
  private lookups = 0;

  constructor(private readonly client: KeyledgerClient) {}

  /** Names every account and actor of `events` can be shown with, in order, learning as it goes. */
  async prepare(events: readonly EventEnvelope[]): Promise<void> {
    for (const event of events) {
      // A creation names its account before anything is looked up; a rename after its row.
      if (event.type === "ServiceAccountCreated") this.names.set(event.accountId, event.data.name);
      const ids = [event.accountId, event.actor.kind === "service_account" ? event.actor.serviceAccountId : null];
      for (const id of ids) if (id !== null && !this.names.has(id)) await this.lookUp(id, event.seq);
    }
  }

  /** After `event` is printed: a rename names the account from there on. */
  learn(event: EventEnvelope): void {
    if (event.type === "ServiceAccountUpdated" && event.data.name !== undefined) this.names.set(event.accountId, event.data.name);
  }

  /** The name last learned for `id`, or null. */
  nameOf(id: string): string | null {
    return this.names.get(id) ?? null;
  }

  private async lookUp(id: string, seq: number): Promise<void> {
    if (this.lookups >= MAX_LOOKUPS || seq <= 1) {
      this.names.set(id, null);
      return;
    }
    this.lookups += 1;
    try {
      this.names.set(id, (await this.client.getServiceAccount(id, { asOf: seq - 1 })).name);
    } catch (error) {
      // Not there yet (its creation is this event), not shown to this caller, or an older daemon.
      if (!(error instanceof KeyledgerApiError)) throw error;
      this.names.set(id, null);
    }
  }
}
