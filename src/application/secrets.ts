import { randomBytes } from "node:crypto";
import { formatApiKey, hashApiKey, hintOf, SECRET_BYTES } from "../domain/index.js";

/** A freshly generated key: the plaintext goes to the caller once, the rest into the event. */
export interface NewSecret {
  readonly key: string;
  readonly secretHash: string;
  readonly hint: string;
}

export function newSecret(keyId: string): NewSecret {
  const key = formatApiKey(keyId, randomBytes(SECRET_BYTES));
  return { key, secretHash: hashApiKey(key), hint: hintOf(key) };
}
