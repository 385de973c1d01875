import { describe, expect, it } from "vitest";
import { ConfirmedRuns, type VouchingCheckpoint } from "../../../src/projections/confirmed-runs.js";

const checkpoint = (seq: number, after: number, upToSeq: number, refused: number[] = []): VouchingCheckpoint => ({
  seq,
  upToSeq,
  eventCount: upToSeq,
  digest: `digest-${upToSeq}`,
  refused: { after, seqs: refused },
});

describe("the runs of events signed checkpoints vouch for", () => {
  it("chain checkpoints from the read model's position, each starting where the one before ended", () => {
    const runs = ConfirmedRuns.from(0, [checkpoint(101, 0, 100), checkpoint(202, 100, 200, [150])]);
    expect(runs.end).toBe(200);
    expect(runs.vouchesFor(1)).toBe(true);
    expect(runs.vouchesFor(150)).toBe(false);
    expect(runs.vouchesFor(200)).toBe(true);
    expect(runs.vouchesFor(201)).toBe(false);
    expect(runs.ends).toEqual([
      { upToSeq: 100, eventCount: 100, digest: "digest-100", seq: 101 },
      { upToSeq: 200, eventCount: 200, digest: "digest-200", seq: 202 },
    ]);
  });

  it("stop at a gap: a checkpoint that starts after the covered end vouches for nothing, nor do those after it", () => {
    const runs = ConfirmedRuns.from(0, [checkpoint(101, 0, 100), checkpoint(302, 250, 300), checkpoint(402, 300, 400)]);
    expect(runs.end).toBe(100);
    expect(runs.vouchesFor(260)).toBe(false);
    expect(runs.ends.map((end) => end.upToSeq)).toEqual([100]);
  });

  it("start from a position inside a run, whatever order the checkpoints come in", () => {
    const runs = ConfirmedRuns.from(140, [checkpoint(202, 100, 200), checkpoint(101, 0, 100)]);
    expect(runs.end).toBe(200);
    expect(runs.ends.map((end) => end.upToSeq)).toEqual([200]);
    expect(runs.vouchesFor(170)).toBe(true);
  });

  it("vouch for nothing without a checkpoint beyond the position", () => {
    expect(ConfirmedRuns.from(500, [checkpoint(101, 0, 100)])).toBe(ConfirmedRuns.NONE);
    expect(ConfirmedRuns.from(0, [])).toBe(ConfirmedRuns.NONE);
    expect(ConfirmedRuns.NONE.vouchesFor(1)).toBe(false);
  });

  it("leave a message refused by any checkpoint that covers it to the usual checks", () => {
    const runs = ConfirmedRuns.from(0, [checkpoint(101, 0, 100, [40]), checkpoint(152, 50, 150, [120])]);
    expect(runs.end).toBe(150);
    expect(runs.vouchesFor(40)).toBe(false);
    expect(runs.vouchesFor(120)).toBe(false);
    expect(runs.vouchesFor(121)).toBe(true);
  });
});
