import { describe, expect, it } from "vitest";
import { AuditPacer } from "../../../src/api/audit-pacer.js";

/** A clock that only moves when the work or a wait moves it. */
function fakeTime() {
  let now = 0;
  const waits: number[] = [];
  return {
    now: () => now,
    advance: (ms: number) => void (now += ms),
    sleep: async (ms: number) => {
      waits.push(ms);
      now += ms;
    },
    waits,
  };
}

describe("the daemon's budget for audit work", () => {
  it("lets audit work on an idle daemon start at once", async () => {
    const time = fakeTime();
    const pacer = new AuditPacer(0.5, time);
    await expect(pacer.run(async () => "page")).resolves.toBe("page");
    expect(time.waits).toEqual([]);
  });

  it("keeps back-to-back audit work to its share of the time while other requests come in", async () => {
    const time = fakeTime();
    const pacer = new AuditPacer(0.25, time);
    let worked = 0;
    for (let request = 0; request < 200; request++)
      await pacer.run(async () => {
        pacer.otherRequest();
        time.advance(10);
        worked += 10;
      });
    // The first 100 ms are a burst; after it, 10 ms of work are followed by 30 ms of waiting.
    expect(worked / time.now()).toBeGreaterThan(0.24);
    expect(worked / time.now()).toBeLessThan(0.27);
    expect(time.waits.at(-1)).toBeCloseTo(30, 5);
  });

  it("lets audit work run at full speed, owing nothing, while no other request comes in", async () => {
    const time = fakeTime();
    const pacer = new AuditPacer(0.25, time);
    pacer.otherRequest();
    time.advance(1000);
    for (let request = 0; request < 50; request++) await pacer.run(async () => void time.advance(10));
    expect(time.waits).toEqual([]);
    // A verification arrives: the work of the quiet time is not held against the audits.
    pacer.otherRequest();
    await pacer.run(async () => void time.advance(10));
    expect(time.waits).toEqual([]);
  });

  it("paces the steps of a long audit the same way, books the time of work that fails, and tells each wait", async () => {
    const time = fakeTime();
    const told: number[] = [];
    const pacer = new AuditPacer(0.5, { ...time, onWait: (ms) => told.push(ms) });
    pacer.otherRequest();
    await pacer.pace(150);
    expect(time.waits).toEqual([100]);
    await expect(
      pacer.run(async () => {
        time.advance(300);
        pacer.otherRequest();
        throw new Error("the read failed");
      }),
    ).rejects.toThrow("the read failed");
    await pacer.run(async () => undefined);
    // 300 ms of work against a full bucket (the burst, 100 ms): 200 ms overdrawn, paid off at half the time.
    expect(time.waits).toEqual([100, 400]);
    expect(told).toEqual(time.waits);
  });

  it("refuses a share that is not a part of the time", () => {
    expect(() => new AuditPacer(0)).toThrow(RangeError);
    expect(() => new AuditPacer(1.5)).toThrow(RangeError);
  });
});
