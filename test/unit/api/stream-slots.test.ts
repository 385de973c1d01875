import { describe, expect, it } from "vitest";
import { StreamSlots, type StreamSlot } from "../../../src/api/stream-slots.js";

/** The slot of an acquisition that must succeed. */
function slotOf(slots: StreamSlots, principal: string): StreamSlot {
  const acquired = slots.acquire(principal);
  if (!acquired.ok) throw new Error(`${principal} was refused by the ${acquired.cap} cap`);
  return acquired.slot;
}

describe("stream slots", () => {
  it("refuses a principal at its own cap, naming the cap and what is open, and lets others in", () => {
    const slots = new StreamSlots({ perPrincipal: 2, total: 10 });
    slotOf(slots, "sa_a");
    slotOf(slots, "sa_a");
    expect(slots.acquire("sa_a")).toEqual({ ok: false, cap: "principal", open: 2, limit: 2 });
    expect(slots.openBy("sa_a")).toBe(2);
    slotOf(slots, "sa_b");
    expect(slots.openBy("sa_b")).toBe(1);
    expect(slots.total).toBe(3);
  });

  it("refuses everyone at the daemon's cap, across principals", () => {
    const slots = new StreamSlots({ perPrincipal: 2, total: 3 });
    slotOf(slots, "sa_a");
    slotOf(slots, "sa_a");
    const b = slotOf(slots, "sa_b");
    expect(slots.acquire("sa_c")).toEqual({ ok: false, cap: "daemon", open: 3, limit: 3 });
    expect(slots.acquire("sa_b")).toEqual({ ok: false, cap: "daemon", open: 3, limit: 3 });
    // A refusal holds nothing.
    expect(slots.total).toBe(3);
    expect(slots.openBy("sa_c")).toBe(0);
    slots.release(b);
    slotOf(slots, "sa_c");
  });

  it("names the principal's cap when both are full", () => {
    const slots = new StreamSlots({ perPrincipal: 1, total: 1 });
    slotOf(slots, "sa_a");
    expect(slots.acquire("sa_a")).toMatchObject({ ok: false, cap: "principal" });
    expect(slots.acquire("sa_b")).toMatchObject({ ok: false, cap: "daemon" });
  });

  it("releases a slot exactly once, however often it is released", () => {
    const slots = new StreamSlots({ perPrincipal: 2, total: 10 });
    const first = slotOf(slots, "sa_a");
    slotOf(slots, "sa_a");
    expect(slots.release(first)).toBe(true);
    expect(slots.release(first)).toBe(false);
    expect(slots.release(first)).toBe(false);
    // Had the second and third counted, the principal's other stream would be forgotten too.
    expect(slots.openBy("sa_a")).toBe(1);
    expect(slots.total).toBe(1);
    slotOf(slots, "sa_a");
    expect(slots.acquire("sa_a")).toMatchObject({ ok: false, cap: "principal", open: 2 });
  });

  it("is unharmed by the release of a slot it never gave out", () => {
    const slots = new StreamSlots({ perPrincipal: 1, total: 2 });
    const held = slotOf(slots, "sa_a");
    const elsewhere = slotOf(new StreamSlots({ perPrincipal: 1, total: 1 }), "sa_a");
    expect(slots.release(elsewhere)).toBe(false);
    expect(slots.release({ principal: "sa_a" })).toBe(false);
    expect(slots.release({ principal: "sa_nobody" })).toBe(false);
    expect(slots.openBy("sa_a")).toBe(1);
    expect(slots.openBy("sa_nobody")).toBe(0);
    expect(slots.total).toBe(1);
    expect(slots.release(held)).toBe(true);
    expect(slots.total).toBe(0);
  });

  it("gives back every slot of a busy run, and then holds nothing", () => {
    const slots = new StreamSlots({ perPrincipal: 3, total: 7 });
    const held: StreamSlot[] = [];
    for (let round = 0; round < 50; round++) {
      for (const principal of ["sa_a", "sa_b", "sa_c"]) {
        const acquired = slots.acquire(principal);
        if (acquired.ok) held.push(acquired.slot);
        expect(slots.openBy(principal)).toBeLessThanOrEqual(3);
        expect(slots.total).toBeLessThanOrEqual(7);
      }
      if (round % 2 === 1) for (const slot of held.splice(0, 2)) slots.release(slot);
    }
    for (const slot of held) slots.release(slot);
    expect(slots.total).toBe(0);
    for (const principal of ["sa_a", "sa_b", "sa_c"]) expect(slots.openBy(principal)).toBe(0);
  });
});
