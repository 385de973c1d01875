import { describe, expect, it } from "vitest";
import type { EventDataByType, EventEnvelope, EventType } from "../../../src/client/index.js";
import { parseAsOf, parseEventType, parseSequence } from "../../../src/cli/arguments.js";
import { eventHeader, eventLine, eventSummary } from "../../../src/cli/event-format.js";
import { UsageError } from "../../../src/cli/usage-error.js";
import { EVENT_TYPES } from "../../../src/domain/index.js";

describe("the arguments of events and audit", () => {
  it("takes a stream sequence as a non-negative integer, and names the flag otherwise", () => {
    expect(parseSequence("--after", "0")).toBe(0);
    expect(parseSequence("--after", " 1200 ")).toBe(1200);
    for (const bad of ["-1", "1.5", "x", "", "1e3", "99999999999999999"]) {
      expect(() => parseSequence("--after", bad)).toThrow(UsageError);
      expect(() => parseSequence("--after", bad)).toThrow(/^--after must be a stream sequence/);
    }
  });

  it("takes --as-of as a sequence or an ISO-8601 instant with its zone, nothing else", () => {
    expect(parseAsOf("--as-of", "42")).toBe("42");
    expect(parseAsOf("--as-of", "2030-01-31T12:00:00Z")).toBe("2030-01-31T12:00:00Z");
    expect(parseAsOf("--as-of", "2030-01-31T12:00:00.123+02:00")).toBe("2030-01-31T12:00:00.123+02:00");
    for (const bad of ["yesterday", "2030-01-31", "2030-01-31T12:00:00", "2030-13-45T12:00:00Z", "-3", ""]) {
      expect(() => parseAsOf("--as-of", bad)).toThrow(/^--as-of must be an ISO-8601 time with its zone/);
    }
  });

  it("takes --type among the event types only, and lists them when it is not one", () => {
    expect(parseEventType("--type", "ApiKeyRotated")).toBe("ApiKeyRotated");
    expect(() => parseEventType("--type", "apikeyrotated")).toThrow(
      /^--type must be one of ServiceAccountCreated, .*ApiKeyDeleted, got "apikeyrotated"$/,
    );
  });

  it("knows the same event types as the domain (the SDK's union and the daemon's list agree)", () => {
    // Compiles only while every type of the SDK's union is listed here.
    const sdkTypes: Record<EventType, true> = {
      ServiceAccountCreated: true,
      ServiceAccountUpdated: true,
      ServiceAccountDeactivated: true,
      ServiceAccountActivated: true,
      ServiceAccountDeleted: true,
      ApiKeyCreated: true,
      ApiKeyUpdated: true,
      ApiKeyRotated: true,
      ApiKeyRetentionExpired: true,
      ApiKeyDeactivated: true,
      ApiKeyActivated: true,
      ApiKeyDeleted: true,
    };
    expect(Object.keys(sdkTypes).sort()).toEqual([...EVENT_TYPES].sort());
  });
});

function envelope<T extends EventType>(type: T, data: EventDataByType[T], seq = 7): EventEnvelope {
  return {
    seq,
    id: "evt_1",
    type,
    schemaVersion: 1,
    accountId: "sa_01ABCDEFGHJKMNPQRSTVWXYZ00",
    occurredAt: "2030-01-31T12:00:00.000Z",
    actor: {
      kind: "service_account",
      serviceAccountId: "sa_01ADMIN0000000000000000000",
      apiKeyId: "key_01ADMIN000000000000000000",
    },
    requestId: "req_1",
    data,
    accountVersion: 1,
    prevHash: null,
    hash: "h",
    signingKeyId: "k",
    signature: "s",
  } as EventEnvelope;
}

describe("the rows of keyledger events", () => {
  it("align under the header, whatever the type", () => {
    const EVENT_HEADER = eventHeader(false);
    const row = eventLine(envelope("ServiceAccountActivated", {}, 123456));
    expect(EVENT_HEADER.indexOf("TYPE")).toBe(row.indexOf("ServiceAccountActivated"));
    expect(EVENT_HEADER.indexOf("ACTOR")).toBe(row.indexOf("sa_01ADMIN"));
    const system = eventLine({
      ...envelope("ServiceAccountCreated", { name: "admin", description: "", roles: ["admin"], active: true }),
      actor: { kind: "system", reason: "bootstrap" },
    } as EventEnvelope);
    expect(system).toContain("system (bootstrap)");
    expect(system).toContain("name admin, roles admin");
  });

  it("name accounts and actors by the names they know, by name and id with --wide, by id where they know none", () => {
    const event = envelope("ServiceAccountActivated", {}, 123456);
    const admin = "sa_01ADMIN0000000000000000000";
    const names = { nameOf: (id: string) => (id === event.accountId ? "ci-runner" : id === admin ? "admin" : null) };
    const row = eventLine(event, names);
    expect(row).toContain("ci-runner");
    expect(row).not.toContain(event.accountId);
    expect(eventHeader(false).indexOf("ACTOR")).toBe(row.indexOf("admin"));
    const wide = eventLine(event, names, true);
    expect(wide).toContain(`ci-runner (${event.accountId})`);
    expect(wide).toContain(`admin (${admin})`);
    expect(eventHeader(true).indexOf("ACTOR")).toBe(wide.indexOf(`admin (${admin})`));
    expect(eventLine(event, { nameOf: () => null })).toContain(event.accountId);
  });

  it("summarize each type in a few words and never show a secret's hash", () => {
    const hash = "sha256:0123456789abcdef";
    const summaries = [
      eventSummary(envelope("ServiceAccountCreated", { name: "ci", description: "x", roles: [], active: false })),
      eventSummary(envelope("ServiceAccountUpdated", { name: "ci-2", roles: ["auditor", "verifier"] })),
      eventSummary(
        envelope("ApiKeyCreated", {
          keyId: "key_A",
          name: "deploy",
          description: "",
          expiresAt: null,
          secretHash: hash,
          hint: "kl_x",
        }),
      ),
      eventSummary(envelope("ApiKeyUpdated", { keyId: "key_A", expiresAt: null })),
      eventSummary(
        envelope("ApiKeyRotated", {
          keyId: "key_A",
          secretHash: hash,
          hint: "kl_y",
          generation: 2,
          retainedUntil: "2030-02-01T00:00:00.000Z",
        }),
      ),
      eventSummary(
        envelope("ApiKeyRotated", { keyId: "key_A", secretHash: hash, hint: "kl_y", generation: 3, retainedUntil: null }),
      ),
      eventSummary(envelope("ApiKeyRetentionExpired", { keyId: "key_A", generation: 2, reason: "deadline" })),
      eventSummary(envelope("ApiKeyDeleted", { keyId: "key_A" })),
    ];
    expect(summaries).toEqual([
      "name ci, roles none, inactive",
      "name → ci-2; roles → auditor,verifier",
      "key deploy (key_A), no expiry",
      "key key_A: expires → never",
      "key key_A, generation 2, old secret until 2030-02-01T00:00:00.000Z",
      "key key_A, generation 3, old secret stopped at once",
      "key key_A: secret of generation 2 ended (deadline)",
      "key key_A",
    ]);
    expect(summaries.join("\n")).not.toContain(hash);
  });
});
