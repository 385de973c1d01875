export { ADMIN_ACCOUNT, ADMIN_KEY_FILE, bootstrapAdmin } from "./bootstrap.js";
export { CommandHandler } from "./command-handler.js";
export type { CommandContext, CommandHandlerOptions, CommandResult } from "./command-handler.js";
export { newAccountId, newEventId, newKeyId, newRequestId, newTokenId, ulid } from "./ids.js";
export { claimHeldByStream } from "./name-claims.js";
export { newSecret } from "./secrets.js";
export type { NewSecret } from "./secrets.js";
export { DEFAULT_KEY_NAME, ServiceAccounts } from "./service-accounts.js";
export type { AccountChanges, CreateAccountInput, CreateKeyInput, KeyChanges, KeyWithSecret } from "./service-accounts.js";
