import Table from "cli-table3";
import type { AccountChange, ApiKey, ApiKeyAsOf, ApiKeyWithSecret, ServiceAccount, ServiceAccountAsOf } from "../client/http.js";

const BLANK = {
  top: "",
  "top-mid": "",
  "top-left": "",
  "top-right": "",
  bottom: "",
  "bottom-mid": "",
  "bottom-left": "",
  "bottom-right": "",
  left: "",
  "left-mid": "",
  mid: "",
  "mid-mid": "",
  right: "",
  "right-mid": "",
  middle: "  ",
};

/** An aligned table without borders or colours: a header row, then one row per item. */
export function table(head: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const t = new Table({ head: [...head], chars: BLANK, style: { head: [], border: [], "padding-left": 0, "padding-right": 0 } });
  for (const row of rows) t.push([...row]);
  return t
    .toString()
    .split("\n")
    .map((line) => line.trimEnd())
    .join("\n");
}

/** Two aligned columns: field names and values. */
export function fields(entries: ReadonlyArray<readonly [string, string]>): string {
  const t = new Table({ chars: BLANK, style: { head: [], border: [], "padding-left": 0, "padding-right": 0 } });
  for (const [name, value] of entries) t.push([`${name}:`, value]);
  return t
    .toString()
    .split("\n")
    .map((line) => line.trimEnd())
    .join("\n");
}

const show = (value: string | null | undefined): string => (value === null || value === undefined || value === "" ? "-" : value);

export function accountFields(account: ServiceAccount): Array<[string, string]> {
  return [
    ["Name", account.name],
    ["ID", account.id],
    ["Description", show(account.description)],
    ["Active", String(account.active)],
    ["Roles", show(account.roles.join(", "))],
    ["Created", account.createdAt],
    ["Updated", account.updatedAt],
  ];
}

export function accountTable(accounts: readonly ServiceAccount[]): string {
  return table(
    ["NAME", "ID", "ACTIVE", "ROLES", "CREATED"],
    accounts.map((a) => [a.name, a.id, String(a.active), show(a.roles.join(",")), a.createdAt]),
  );
}

/**
 * What a person asks of a key: does it work? `inactive` (switched off), `expired`, `retained` (it
 * works, and so does its previous secret until the retention ends), or `active`.
 */
export function keyStatus(key: ApiKey, now = Date.now()): "active" | "inactive" | "expired" | "retained" {
  if (!key.active) return "inactive";
  if (key.expiresAt !== null && Date.parse(key.expiresAt) <= now) return "expired";
  if (key.retainedUntil !== null && Date.parse(key.retainedUntil) > now) return "retained";
  return "active";
}

/** A key's fields; `accountName` (when known) shows the account by name, with its id. */
export function keyFields(key: ApiKey, accountName?: string): Array<[string, string]> {
  return [
    ["Name", key.name],
    ["ID", key.id],
    ["Service account", accountName === undefined ? key.serviceAccountId : `${accountName} (${key.serviceAccountId})`],
    ["Description", show(key.description)],
    ["Status", keyStatus(key)],
    ["Hint", key.hint],
    ["Created", key.createdAt],
    ["Last rotated", show(key.lastRotatedAt)],
    ["Last used", show(key.lastUsedAt)],
    ["Expires", show(key.expiresAt)],
    ["Old secret valid until", show(key.retainedUntil)],
  ];
}

export function keyTable(keys: readonly ApiKey[]): string {
  return table(
    ["NAME", "ID", "STATUS", "HINT", "EXPIRES", "LAST USED", "RETAINED UNTIL"],
    keys.map((k) => [k.name, k.id, keyStatus(k), k.hint, show(k.expiresAt), show(k.lastUsedAt), show(k.retainedUntil)]),
  );
}

/** Keys as they were at a point in history, with the status each had then. */
export function keyTableAsOf(keys: readonly ApiKeyAsOf[]): string {
  return table(
    ["NAME", "ID", "STATUS", "HINT", "EXPIRES", "OLD SECRET"],
    keys.map((k) => [k.name, k.id, k.status, k.hint, show(k.expiresAt), oldSecret(k)]),
  );
}

/** Accounts and their keys at a point in history: one row per key (an account without keys has one row). */
export function stateTable(accounts: readonly ServiceAccountAsOf[]): string {
  const rows: string[][] = [];
  for (const a of accounts) {
    const account = [a.name, String(a.active), show(a.roles.join(","))];
    if (a.apiKeys.length === 0) rows.push([...account, "-", "-", "-", "-", "-"]);
    for (const k of a.apiKeys) rows.push([...account, k.name, k.id, k.status, show(k.expiresAt), oldSecret(k)]);
  }
  return table(["ACCOUNT", "ACTIVE", "ROLES", "KEY", "KEY ID", "STATUS", "EXPIRES", "OLD SECRET"], rows);
}

/**
 * One line per change: the account's own change, then each key's, with what differs between the
 * two points (`field: before → after`), so that a person reads the diff without the JSON.
 */
export function diffTable(accounts: readonly AccountChange[]): string {
  const rows: string[][] = [];
  for (const account of accounts) {
    rows.push([account.name, "-", account.change, differences(account.before, account.after, ACCOUNT_FIELDS)]);
    for (const key of account.keys)
      rows.push([account.name, key.name, key.change, differences(key.before, key.after, KEY_FIELDS)]);
  }
  return table(["ACCOUNT", "KEY", "CHANGE", "WHAT"], rows);
}

const ACCOUNT_FIELDS = ["name", "description", "active", "roles"] as const;
const KEY_FIELDS = ["name", "description", "status", "expiresAt", "lastRotatedAt", "previousSecret"] as const;

function differences<T extends object>(before: T | null, after: T | null, fields: readonly string[]): string {
  if (before === null || after === null) return "-";
  const changed: string[] = [];
  for (const field of fields) {
    const old = shown((before as Record<string, unknown>)[field]);
    const now = shown((after as Record<string, unknown>)[field]);
    if (old !== now) changed.push(`${field}: ${old} → ${now}`);
  }
  return changed.length === 0 ? "-" : changed.join(", ");
}

function shown(value: unknown): string {
  if (value === null || value === undefined || value === "") return "-";
  return Array.isArray(value) ? value.join(",") || "-" : String(value);
}

function oldSecret(key: ApiKeyAsOf): string {
  if (key.previousSecret === "retained") return `retained until ${key.retainedUntil ?? "?"}`;
  return key.previousSecret ?? "-";
}

export const SHOWN_ONCE = "Store this key now: it cannot be shown again.";

/**
 * A new secret, printed once, with the line that says so, ending with the two lines a CI job or a
 * container needs (the daemon's URL and the key).
 */
export function secretLines(key: ApiKeyWithSecret, url: string): string {
  return [
    `API key ${key.name} (${key.id}). ${SHOWN_ONCE} A CI job or a container needs these two variables:`,
    `KEYLEDGER_URL=${url}`,
    `KEYLEDGER_API_KEY=${key.key}`,
  ].join("\n");
}
