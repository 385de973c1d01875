/** Naming and value rules shared by the deciders and the HTTP schemas. */
export const NAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$";
export const NAME_RULE = "1–64 characters of A–Z a–z 0–9 _ . - starting with a letter or digit";
export const MAX_DESCRIPTION = 1000;
export const MAX_RETAIN_SECONDS = 2_592_000;

export const ROLES = ["admin", "auditor", "verifier"] as const;
export type Role = (typeof ROLES)[number];

const ULID = "[0-9A-HJKMNP-TV-Z]{26}";
export const ACCOUNT_ID_PATTERN = new RegExp(`^sa_${ULID}$`);
export const KEY_ID_PATTERN = new RegExp(`^key_${ULID}$`);

/** Names that look like ids would make `:account` and `:key` ambiguous, so they are refused. */
export function looksLikeId(name: string): boolean {
  return ACCOUNT_ID_PATTERN.test(name) || KEY_ID_PATTERN.test(name);
}
