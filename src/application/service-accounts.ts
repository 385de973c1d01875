import {
  ConflictError,
  decide,
  type AccountState,
  type CommandMetadata,
  type KeyState,
  type Role,
  type ServiceAccountCommand,
} from "../domain/index.js";
import { StoreUnavailableError, type ClaimHeld, type NameRegistry } from "../events/index.js";
import type { CommandContext, CommandHandler } from "./command-handler.js";
import { newAccountId, newKeyId } from "./ids.js";
import { newSecret, type NewSecret } from "./secrets.js";

export interface CreateAccountInput {
  readonly name: string;
  readonly description?: string;
  readonly roles?: readonly Role[];
  readonly active?: boolean;
  readonly createApiKey?: boolean;
}

export interface AccountChanges {
  readonly name?: string;
  readonly description?: string;
  readonly roles?: readonly Role[];
  readonly active?: boolean;
}

export interface CreateKeyInput {
  readonly name: string;
  readonly description?: string;
  readonly expiresAt?: string | null;
}

export interface KeyChanges {
  readonly name?: string;
  readonly description?: string;
  readonly expiresAt?: string | null;
  readonly active?: boolean;
}

/** A key as the read model holds it, plus its plaintext when it was just created or rotated. */
export interface KeyWithSecret {
  readonly key: KeyState;
  readonly secret: string;
}

export const DEFAULT_KEY_NAME = "default";

/** The use cases of service accounts and their keys: each runs its commands through the handler. */
export class ServiceAccounts {
  constructor(
    private readonly handler: CommandHandler,
    private readonly names: NameRegistry,
    private readonly claimHeld: ClaimHeld,
    private readonly clock: () => Date,
    /**
     * Throws when this daemon may not append now (its signing key not trusted). Asked before a name
     * is claimed: a claim is not signed, and one left behind by a write that cannot be signed would
     * hold the name for the grace period.
     */
    private readonly mayWrite: () => void = () => undefined,
  ) {}

  /**
   * Creates an account, with its `default` key unless `createApiKey` is false, in one decision.
   * `secret` lets the bootstrap generate (and save) the key before anything is appended.
   */
  async create(
    input: CreateAccountInput,
    context: CommandContext,
    secret?: (keyId: string) => NewSecret,
  ): Promise<{ account: AccountState; apiKey?: KeyWithSecret }> {
    const accountId = newAccountId();
    const keyId = newKeyId();
    const initial = input.createApiKey === false ? undefined : (secret ?? newSecret)(keyId);
    const data = {
      name: input.name,
      description: input.description ?? "",
      roles: input.roles ?? [],
      active: input.active ?? true,
      initialKey:
        initial === undefined ? undefined : { keyId, name: DEFAULT_KEY_NAME, secretHash: initial.secretHash, hint: initial.hint },
    };
    const command = (metadata: CommandMetadata): ServiceAccountCommand => ({
      type: "CreateServiceAccount",
      accountId,
      data,
      metadata,
    });
    // Decide once on the empty state first, so that an invalid request claims no name.
    decide(command(this.metadata(context)), null);
    this.mayWrite();
    await this.names.claim(input.name, accountId, this.now(), this.claimHeld);
    const account = await this.run(accountId, command, context);
    await this.confirmClaim(input.name, accountId, context).catch((error: unknown) => {
      // The account is recorded by now: an answer must not say that nothing was written.
      if (error instanceof StoreUnavailableError && !error.mayHaveWritten)
        throw new StoreUnavailableError("the account was recorded, but its name could not be confirmed", {
          cause: error,
          mayHaveWritten: true,
        });
      throw error;
    });
    return initial === undefined ? { account } : { account, apiKey: { key: keyOf(account, keyId), secret: initial.key } };
  }

  /**
   * A creation that landed long after its name claim (a paused process) may have lost the name to
   * another account in between; then it is undone, and the caller learns that the name is taken.
   */
  private async confirmClaim(name: string, accountId: string, context: CommandContext): Promise<void> {
    const current = await this.names.current(name);
    if (current === null || current.claim.accountId === accountId) return;
    await this.run(accountId, (metadata) => ({ type: "DeleteServiceAccount", accountId, data: {}, metadata }), context);
    throw new ConflictError(`a service account named "${name}" already exists`);
  }

  async update(accountId: string, changes: AccountChanges, context: CommandContext): Promise<AccountState> {
    const command = (metadata: CommandMetadata): ServiceAccountCommand => ({
      type: "UpdateServiceAccount",
      accountId,
      data: changes,
      metadata,
    });
    if (changes.name !== undefined) {
      const events = await this.dryRun(accountId, command, context);
      if (events.some((event) => event.type === "ServiceAccountUpdated" && event.data.name !== undefined)) {
        this.mayWrite();
        await this.names.claim(changes.name, accountId, this.now(), this.claimHeld);
      }
    }
    return this.run(accountId, command, context);
  }

  async delete(accountId: string, context: CommandContext): Promise<void> {
    await this.run(accountId, (metadata) => ({ type: "DeleteServiceAccount", accountId, data: {}, metadata }), context);
  }

  async createKey(
    accountId: string,
    input: CreateKeyInput,
    context: CommandContext,
    generate: (keyId: string) => NewSecret = newSecret,
  ): Promise<KeyWithSecret> {
    const keyId = newKeyId();
    const secret = generate(keyId);
    const data = {
      keyId,
      name: input.name,
      description: input.description ?? "",
      expiresAt: utc(input.expiresAt ?? null),
      secretHash: secret.secretHash,
      hint: secret.hint,
    };
    const state = await this.run(accountId, (metadata) => ({ type: "CreateApiKey", accountId, data, metadata }), context);
    return { key: keyOf(state, keyId), secret: secret.key };
  }

  async updateKey(accountId: string, keyId: string, changes: KeyChanges, context: CommandContext): Promise<KeyState> {
    const data = { keyId, ...changes, ...(changes.expiresAt === undefined ? {} : { expiresAt: utc(changes.expiresAt) }) };
    const state = await this.run(accountId, (metadata) => ({ type: "UpdateApiKey", accountId, data, metadata }), context);
    return keyOf(state, keyId);
  }

  async rotateKey(accountId: string, keyId: string, retainSeconds: number, context: CommandContext): Promise<KeyWithSecret> {
    const secret = newSecret(keyId);
    const data = { keyId, secretHash: secret.secretHash, hint: secret.hint, retainSeconds };
    const state = await this.run(accountId, (metadata) => ({ type: "RotateApiKey", accountId, data, metadata }), context);
    return { key: keyOf(state, keyId), secret: secret.key };
  }

  async deleteKey(accountId: string, keyId: string, context: CommandContext): Promise<void> {
    await this.run(accountId, (metadata) => ({ type: "DeleteApiKey", accountId, data: { keyId }, metadata }), context);
  }

  /**
   * Closes one rotation's retention. The message id is derived from the rotation, so that two
   * daemons (or two ticks) that both see it due record it once.
   */
  async expireRetention(accountId: string, keyId: string, generation: number, context: CommandContext): Promise<void> {
    await this.handler.handle(
      accountId,
      (now) => ({ type: "ExpireRetention", accountId, data: { keyId, generation }, metadata: { now, actor: context.actor } }),
      context,
      (event) => (event.type === "ApiKeyRetentionExpired" ? `retention-expired:${keyId}:${generation}` : undefined),
    );
  }

  private async run(
    accountId: string,
    command: (metadata: CommandMetadata) => ServiceAccountCommand,
    context: CommandContext,
  ): Promise<AccountState> {
    const result = await this.handler.handle(accountId, (now) => command({ now, actor: context.actor }), context);
    if (result.state === null) throw new Error(`account ${accountId} has no state after a command`);
    return result.state;
  }

  private async dryRun(
    accountId: string,
    command: (metadata: CommandMetadata) => ServiceAccountCommand,
    context: CommandContext,
  ) {
    return this.handler.decideOnly(accountId, command(this.metadata(context)));
  }

  private metadata(context: CommandContext): CommandMetadata {
    return { now: this.now(), actor: context.actor };
  }

  private now(): string {
    return this.clock().toISOString();
  }
}

function keyOf(state: AccountState, keyId: string): KeyState {
  const key = state.keys[keyId];
  if (key === undefined) throw new Error(`key ${keyId} missing after a command`);
  return key;
}

/** Timestamps are stored and answered in UTC, whatever offset the caller wrote. */
function utc(instant: string | null): string | null {
  if (instant === null) return null;
  const at = Date.parse(instant);
  return Number.isNaN(at) ? instant : new Date(at).toISOString();
}
