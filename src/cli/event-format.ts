import type { EventActor, EventEnvelope } from "../client/index.js";

/** The columns of `keyledger events`, with fixed widths so that rows align as they stream in. */
const COLUMNS = [
  ["SEQ", 7],
  ["TIME", 24],
  ["TYPE", 25],
  ["ACCOUNT", 29],
  ["ACTOR", 29],
  ["SUMMARY", 0],
] as const;

function line(cells: readonly string[]): string {
  return cells
    .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(COLUMNS[i]![1])))
    .join("  ")
    .trimEnd();
}

export const EVENT_HEADER = line(COLUMNS.map(([name]) => name));

export function eventLine(event: EventEnvelope): string {
  return line([String(event.seq), event.occurredAt, event.type, event.accountId, actorText(event.actor), eventSummary(event)]);
}

function actorText(actor: EventActor): string {
  return actor.kind === "service_account" ? actor.serviceAccountId : `system (${actor.reason})`;
}

/** What an event changed, in a few words; never a secret's hash. */
export function eventSummary(event: EventEnvelope): string {
  switch (event.type) {
    case "ServiceAccountCreated": {
      const { name, roles, active } = event.data;
      return [`name ${name}`, `roles ${roles.length === 0 ? "none" : roles.join(",")}`, ...(active ? [] : ["inactive"])].join(
        ", ",
      );
    }
    case "ServiceAccountUpdated": {
      const { name, description, roles } = event.data;
      return changes([
        name === undefined ? null : `name → ${name}`,
        description === undefined ? null : "description changed",
        roles === undefined ? null : `roles → ${roles.length === 0 ? "none" : roles.join(",")}`,
      ]);
    }
    case "ServiceAccountDeactivated":
    case "ServiceAccountActivated":
    case "ServiceAccountDeleted":
      return "";
    case "ApiKeyCreated": {
      const { keyId, name, expiresAt } = event.data;
      return `key ${name} (${keyId}), ${expiresAt === null ? "no expiry" : `expires ${expiresAt}`}`;
    }
    case "ApiKeyUpdated": {
      const { keyId, name, description, expiresAt } = event.data;
      const what = changes([
        name === undefined ? null : `name → ${name}`,
        description === undefined ? null : "description changed",
        expiresAt === undefined ? null : `expires → ${expiresAt ?? "never"}`,
      ]);
      return `key ${keyId}: ${what}`;
    }
    case "ApiKeyRotated": {
      const { keyId, generation, retainedUntil } = event.data;
      const old = retainedUntil === null ? "old secret stopped at once" : `old secret until ${retainedUntil}`;
      return `key ${keyId}, generation ${generation}, ${old}`;
    }
    case "ApiKeyRetentionExpired": {
      const { keyId, generation, reason } = event.data;
      return `key ${keyId}: secret of generation ${generation} ended (${reason})`;
    }
    case "ApiKeyDeactivated":
    case "ApiKeyActivated":
    case "ApiKeyDeleted":
      return `key ${event.data.keyId}`;
    default:
      // A type newer than this program: the row still shows it, without a summary.
      void (event satisfies never);
      return "";
  }
}

function changes(parts: ReadonlyArray<string | null>): string {
  const present = parts.filter((part): part is string => part !== null);
  return present.length === 0 ? "no change" : present.join("; ");
}
