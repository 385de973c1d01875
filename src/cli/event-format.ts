import type { EventActor, EventEnvelope } from "../client/http.js";

/**
 * The columns of `keyledger events`, with fixed widths so that rows align as they stream in:
 * accounts and actors by name, and with `--wide` by name and id.
 */
function columns(wide: boolean): ReadonlyArray<readonly [string, number]> {
  const who = wide ? 50 : 29;
  return [
    ["SEQ", 7],
    ["TIME", 24],
    ["TYPE", 25],
    ["ACCOUNT", who],
    ["ACTOR", who],
    ["SUMMARY", 0],
  ];
}

function line(cells: readonly string[], wide: boolean): string {
  const widths = columns(wide);
  return cells
    .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]![1])))
    .join("  ")
    .trimEnd();
}

export function eventHeader(wide: boolean): string {
  return line(
    columns(wide).map(([name]) => name),
    wide,
  );
}

/** What the table knows of account names (ids where it knows none). */
export interface NameSource {
  nameOf(id: string): string | null;
}

const NO_NAMES: NameSource = { nameOf: () => null };

export function eventLine(event: EventEnvelope, names: NameSource = NO_NAMES, wide = false): string {
  const account = (id: string): string => {
    const name = names.nameOf(id);
    return name === null ? id : wide ? `${name} (${id})` : name;
  };
  const actor = event.actor.kind === "service_account" ? account(event.actor.serviceAccountId) : actorText(event.actor);
  return line([String(event.seq), event.occurredAt, event.type, account(event.accountId), actor, eventSummary(event)], wide);
}

/** Said under the table when the sequences it shows are not consecutive. */
export const SEQUENCE_GAPS =
  "Gaps between sequence numbers are the stream's other messages (signing key statements, checkpoints, name claims), or events left out by a filter.";

function actorText(actor: Extract<EventActor, { kind: "system" }>): string {
  return `system (${actor.reason})`;
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
