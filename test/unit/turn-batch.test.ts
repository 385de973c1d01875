import { describe, expect, it } from "vitest";
import { TurnBatch } from "../../src/turn-batch.js";

describe("a turn batch", () => {
  it("starts the work handed over in one turn together, after that turn, in order", async () => {
    const batch = new TurnBatch();
    const started: string[] = [];
    const work = (name: string) => () => {
      started.push(name);
      return Promise.resolve(name.toUpperCase());
    };
    const first = batch.run(work("a"));
    const second = batch.run(work("b"));
    await Promise.resolve();
    // Not during the turn that handed them over, microtasks included.
    expect(started).toEqual([]);
    const { third, startedBefore } = await new Promise<{ third: Promise<string>; startedBefore: string[] }>((resolve) =>
      setTimeout(() => resolve({ startedBefore: [...started], third: batch.run(work("c")) }), 0),
    );
    // The first two started together, before a timer of a later turn handed over the third.
    expect(startedBefore).toEqual(["a", "b"]);
    expect(await Promise.all([first, second, third])).toEqual(["A", "B", "C"]);
    expect(started).toEqual(["a", "b", "c"]);
  });

  it("runs plain work handed over in one turn together after it, in order, with the work started by run()", async () => {
    const batch = new TurnBatch();
    const done: string[] = [];
    batch.later(() => done.push("first"));
    const started = batch.run(() => {
      done.push("second");
      return Promise.resolve();
    });
    batch.later(() => done.push("third"));
    expect(done).toEqual([]);
    await started;
    expect(done).toEqual(["first", "second", "third"]);
  });

  it("answers each caller with its own failure, whether the work throws or rejects, and goes on with the rest", async () => {
    const batch = new TurnBatch();
    const thrown = batch.run(() => {
      throw new Error("thrown");
    });
    const rejected = batch.run(() => Promise.reject(new Error("rejected")));
    const fine = batch.run(() => Promise.resolve(7));
    await expect(thrown).rejects.toThrow("thrown");
    await expect(rejected).rejects.toThrow("rejected");
    await expect(fine).resolves.toBe(7);
  });
});
