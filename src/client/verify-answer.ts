import type { VerifyResult } from "./types.js";
import type { PositiveAnswer } from "./verify-cache.js";

/** The verify answer, checked and frozen (it may be shared through the cache), or null when it is not one. */
export function readVerifyAnswer(answer: unknown): VerifyResult | null {
  const value = answer as Partial<Record<string, any>> | null | undefined;
  if (value?.valid === false && typeof value.code === "string") return Object.freeze({ valid: false, code: value.code });
  const { serviceAccount: account, apiKey: key, credential } = value ?? {};
  const readable =
    value?.valid === true &&
    typeof account?.id === "string" &&
    typeof account.name === "string" &&
    Array.isArray(account.roles) &&
    account.roles.every((role: unknown) => typeof role === "string") &&
    typeof key?.id === "string" &&
    typeof key.name === "string" &&
    (key.expiresAt === undefined ||
      key.expiresAt === null ||
      (typeof key.expiresAt === "string" && !Number.isNaN(Date.parse(key.expiresAt)))) &&
    (credential === "current" || credential === "retained");
  if (!readable) return null;
  const positive: PositiveAnswer = {
    valid: true,
    serviceAccount: Object.freeze({ id: account.id, name: account.name, roles: Object.freeze([...account.roles]) as string[] }),
    apiKey: Object.freeze({ id: key.id, name: key.name, expiresAt: key.expiresAt ?? null }),
    credential,
  };
  return Object.freeze(positive);
}
