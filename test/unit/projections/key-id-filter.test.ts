import { describe, expect, it } from "vitest";
import { KeyIdFilter } from "../../../src/projections/key-id-filter.js";

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const keyId = (): string => `key_${Array.from({ length: 26 }, () => CROCKFORD[Math.floor(Math.random() * 32)]).join("")}`;

describe("the key id filter", () => {
  it("says maybe to everything until it is complete, then never no to an id it holds", () => {
    const filter = new KeyIdFilter();
    expect(filter.mightHold(keyId())).toBe(true);
    const held = Array.from({ length: 100_000 }, keyId);
    for (const id of held) filter.add(id);
    filter.markComplete();
    expect(held.every((id) => filter.mightHold(id))).toBe(true);
    // Unknown ids: almost always a certain no (the few "maybe" are looked up in LevelDB).
    const unknown = Array.from({ length: 100_000 }, keyId);
    const maybe = unknown.filter((id) => filter.mightHold(id)).length;
    expect(maybe).toBeLessThan(100);
  });

  it("comes back whole from what it saved, seeds included, and is empty and complete after a reset", () => {
    const filter = new KeyIdFilter();
    const held = Array.from({ length: 1000 }, keyId);
    for (const id of held) filter.add(id);
    filter.markComplete();
    const restored = new KeyIdFilter();
    expect(restored.restore(filter.save())).toBe(true);
    expect(restored.ready).toBe(true);
    expect(held.every((id) => restored.mightHold(id))).toBe(true);
    expect(new KeyIdFilter().restore(Buffer.from("not a filter"))).toBe(false);
    restored.reset();
    expect(restored.ready).toBe(true);
    expect(held.filter((id) => restored.mightHold(id))).toEqual([]);
  });
});
