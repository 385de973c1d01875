import {
  ConflictError,
  decide,
  evolve,
  type AccountState,
  type Actor,
  type DomainEvent,
  type ServiceAccountCommand,
} from "../domain/index.js";
import { ConcurrencyError, type Appended, type JetStreamEventStore } from "../events/index.js";
import { ReadModelTimeoutError, type Projector, type ReadModel } from "../projections/index.js";
import { newEventId } from "./ids.js";

export interface CommandContext {
  readonly actor: Actor;
  readonly requestId: string | null;
}

export interface CommandResult {
  /** The account after the command, as this daemon's read model now holds it. */
  readonly state: AccountState | null;
  readonly appended: readonly Appended[];
}

export interface CommandHandlerOptions {
  /** How many times a decision is made again after a concurrent modification, before 409. */
  readonly maxAttempts: number;
  /** How long a write waits for this daemon's read model to apply it. */
  readonly readYourWritesTimeoutMs: number;
}

/**
 * Loads the account's state from the read model, decides, appends with the expected sequence of
 * the account, and answers once the read model has applied what was appended (read-your-writes).
 * A concurrent modification waits for the read model to catch up with the account and decides again.
 */
export class CommandHandler {
  constructor(
    private readonly store: JetStreamEventStore,
    private readonly readModel: ReadModel,
    private readonly projector: Projector,
    private readonly clock: () => Date,
    private readonly options: CommandHandlerOptions,
  ) {}

  /** The events a command would append now, without appending them (domain errors are thrown). */
  async decideOnly(accountId: string, command: ServiceAccountCommand): Promise<DomainEvent[]> {
    return decide(command, (await this.readModel.aggregate(accountId))?.state ?? null);
  }

  async handle(
    accountId: string,
    build: (now: string) => ServiceAccountCommand,
    context: CommandContext,
    msgIdOf?: (event: DomainEvent) => string | undefined,
  ): Promise<CommandResult> {
    for (let attempt = 1; attempt <= this.options.maxAttempts; attempt++) {
      const aggregate = await this.readModel.aggregate(accountId);
      const events = decide(build(this.clock().toISOString()), aggregate?.state ?? null);
      if (events.length === 0) return { state: aggregate?.state ?? null, appended: [] };
      try {
        const appended = await this.store.append(
          accountId,
          {
            expectedSeq: aggregate?.streamSeq ?? 0,
            prevHash: aggregate?.lastHash ?? null,
            version: aggregate?.state.version ?? 0,
          },
          events,
          { ...context, newEventId, msgIdOf },
        );
        await this.projector.waitFor(appended.at(-1)!.seq, this.options.readYourWritesTimeoutMs);
        // The answer describes the account right after this command's events: the read model may
        // already hold later ones, applied in the same batch (two rotations of one key answered
        // with the same secret's hint, otherwise). An event stored earlier under the same message
        // id may differ from this decision's: then the read model's state is answered.
        if (appended.some(({ duplicate }) => duplicate))
          return { state: (await this.readModel.aggregate(accountId))?.state ?? null, appended };
        const state = events.reduce<AccountState | null>((folded, event) => evolve(folded, event), aggregate?.state ?? null);
        return { state, appended };
      } catch (error) {
        if (!(error instanceof ConcurrencyError)) throw error;
        const head = await this.store.lastSequenceOfAccount(accountId);
        // Nothing of this attempt was written: a read model that cannot catch up is a conflict to retry.
        await this.projector.waitFor(head, this.options.readYourWritesTimeoutMs).catch((timeout: unknown) => {
          if (timeout instanceof ReadModelTimeoutError)
            throw new ConflictError("the service account is being modified elsewhere; try again");
          throw timeout;
        });
      }
    }
    throw new ConflictError("the service account was modified concurrently; try again");
  }
}
