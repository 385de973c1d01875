import { describe, expect, it } from "vitest";
import type { Revocation } from "../../../src/client/revocation-contract.js";
import { TokenRevocations } from "../../../src/client/token-revocations.js";

const token = { sub: "sa_1", key: "key_1", gen: 1, iat_ms: 1000 };
const revocation = (overrides: Partial<Revocation>): Revocation => ({
  seq: 1,
  type: "ApiKeyDeactivated",
  accountId: "sa_1",
  keyId: "key_1",
  occurredAtMs: 2000,
  generation: null,
  retained: false,
  epoch: null,
  ...overrides,
});

describe("token revocations (the daemon's rules, from the feed)", () => {
  it("end tokens issued before a deactivation or deletion of their key or account, not those issued after", () => {
    for (const seen of [revocation({}), revocation({ type: "ServiceAccountDeleted", keyId: null })]) {
      const revocations = new TokenRevocations();
      revocations.record(seen, 0);
      expect(revocations.revoked(token)).toBe(true);
      expect(revocations.revoked({ ...token, iat_ms: 2000 })).toBe(false);
    }
    const other = new TokenRevocations();
    other.record(revocation({ keyId: "key_2" }), 0);
    expect(other.revoked(token)).toBe(false);
  });

  it("end tokens of a rotated-out secret, at once or when its retention expires", () => {
    const atOnce = new TokenRevocations();
    atOnce.record(revocation({ type: "ApiKeyRotated", generation: 2, retained: false }), 0);
    expect(atOnce.revoked(token)).toBe(true);
    expect(atOnce.revoked({ ...token, gen: 2 })).toBe(false);

    const retained = new TokenRevocations();
    retained.record(revocation({ type: "ApiKeyRotated", generation: 2, retained: true }), 0);
    expect(retained.revoked(token)).toBe(false);
    retained.record(revocation({ type: "ApiKeyRetentionExpired", generation: 1 }), 0);
    expect(retained.revoked(token)).toBe(true);
    expect(retained.revoked({ ...token, gen: 2 })).toBe(false);
  });

  it("end tokens by epoch when the event names one, whatever the clocks: a token minted late with an old epoch dies", () => {
    const revocations = new TokenRevocations();
    revocations.record(revocation({ epoch: 1, occurredAtMs: 5000 }), 0);
    // Issued (by a daemon whose clock runs ahead) after the deactivation's own time, but in epoch 0: dead.
    expect(revocations.revoked({ ...token, kep: 0, aep: 0, iat_ms: 9000 })).toBe(true);
    // Issued in the new epoch (after a reactivation): alive, whatever its issue time says.
    expect(revocations.revoked({ ...token, kep: 1, aep: 0, iat_ms: 1 })).toBe(false);
  });

  it("end an account's tokens when a role was taken away (ServiceAccountUpdated with an epoch)", () => {
    const revocations = new TokenRevocations();
    revocations.record(revocation({ type: "ServiceAccountUpdated", keyId: null, epoch: 2 }), 0);
    expect(revocations.revoked({ ...token, kep: 0, aep: 1 })).toBe(true);
    expect(revocations.revoked({ ...token, kep: 0, aep: 2 })).toBe(false);
    expect(revocations.revoked({ ...token, sub: "sa_2", kep: 0, aep: 0 })).toBe(false);
  });
});

describe("token revocations under a flood of feed messages", () => {
  it("never forget in a token's favour: once a revocation is pushed out, older tokens count as revoked", () => {
    const revocations = new TokenRevocations(100);
    revocations.record(revocation({ type: "ServiceAccountUpdated", keyId: null, epoch: 1 }), 5000);
    const issuedBefore = { ...token, kep: 0, aep: 0, iat_ms: 4000 };
    expect(revocations.revoked(issuedBefore)).toBe(true);
    for (let i = 0; i < 200; i++) revocations.record(revocation({ accountId: `sa_flood_${i}`, keyId: null, epoch: 1 }), 6000);
    expect(revocations.revoked(issuedBefore)).toBe(true);
    // A token minted after the flood, for an account whose revocation was forgotten, is not held against it.
    expect(revocations.revoked({ ...token, kep: 0, aep: 1, iat_ms: 7000 })).toBe(false);
  });
});
