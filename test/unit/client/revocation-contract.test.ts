import { describe, expect, it } from "vitest";
import { ISSUER } from "../../../src/auth/index.js";
import { TOKEN_ISSUER } from "../../../src/client/access-tokens.js";
import {
  DEFAULT_STREAM,
  endsAccount,
  readRevocation,
  REVOCATION_FILTER,
  REVOCATION_SUBJECT_PREFIX,
  REVOCATION_TYPES,
  revocationStreamName,
} from "../../../src/client/revocation-contract.js";
import { loadConfig } from "../../../src/config.js";
import { MAYBE_REVOCATION } from "../../../src/domain/index.js";
import * as events from "../../../src/format/index.js";

const accountId = "sa_01J0000000000000000000000A";

describe("the SDK's copy of the revocation feed contract", () => {
  it("equals the daemon's own constants", () => {
    expect([...REVOCATION_TYPES].sort()).toEqual([...MAYBE_REVOCATION].sort());
    expect(REVOCATION_SUBJECT_PREFIX).toBe(events.REVOCATION_SUBJECT_PREFIX);
    expect([REVOCATION_FILTER]).toEqual(events.REVOCATION_SUBJECTS);
    expect(revocationStreamName("X")).toBe(events.revocationStreamName("X"));
    expect(DEFAULT_STREAM).toBe(loadConfig({}, {}).stream);
    expect(events.revocationSubject(accountId, "ApiKeyDeleted")).toBe(`${REVOCATION_SUBJECT_PREFIX}.${accountId}.ApiKeyDeleted`);
    expect(TOKEN_ISSUER).toBe(ISSUER);
  });

  it("reads a feed message: the account from the subject, the key and generation from the envelope", () => {
    const envelope = {
      type: "ApiKeyRotated",
      accountId,
      occurredAt: "2030-01-01T00:00:00.000Z",
      data: { keyId: "key_1", generation: 3, retainedUntil: "2030-01-01T00:01:00.000Z" },
    };
    const read = readRevocation(7, `kl.revoked.${accountId}.ApiKeyRotated`, new TextEncoder().encode(JSON.stringify(envelope)));
    expect(read).toEqual({
      seq: 7,
      type: "ApiKeyRotated",
      accountId,
      keyId: "key_1",
      occurredAtMs: Date.parse("2030-01-01T00:00:00.000Z"),
      generation: 3,
      retained: true,
      epoch: null,
    });
    expect(endsAccount(read!)).toBe(false);
  });

  it("takes an unreadable message as broadly as it can: the whole account", () => {
    const read = readRevocation(8, `kl.revoked.${accountId}.ApiKeyDeleted`, new TextEncoder().encode("not json"));
    expect(read).toMatchObject({ accountId, keyId: null });
    expect(endsAccount(read!)).toBe(true);
    expect(readRevocation(9, "kl.acct.x", new Uint8Array())).toBeNull();
  });
});
