import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { verifyBundle } from "../../../src/audit/index.js";
import { accountSubject } from "../../../src/format/index.js";
import { signerFromSeed } from "../../../src/signing/index.js";
import { bundleOf, chunked, ledger } from "./ledger-fixture.js";

/**
 * The offline bundle check on bundles written in memory (line numbers below: 1 header, 2 the
 * genesis at seq 1, 3–5 events at 3–5, 6 the checkpoint at 6, 7–8 events at 7–8, 9 the seal; the
 * name claim at 2 is left out). The tampering of the e2e tests is written by hand from the documented
 * format; these tests are about the reader: lines, order, header, seal, chunk boundaries.
 */
const verify = (lines: readonly string[], options: { anchor?: string; size?: number } = {}) =>
  verifyBundle(chunked(lines, options.size), { anchor: options.anchor });

const codes = (report: Awaited<ReturnType<typeof verify>>) => report.problems.map(({ seq, code }) => ({ seq, code }));

describe("an evidence bundle as the daemon writes it", () => {
  it("checks out, the same whatever the chunks it arrives in, and says whether the anchor was pinned", async () => {
    const of = ledger();
    const lines = await bundleOf(of);
    expect(lines).toHaveLength(9);
    const unpinned = await verify(lines);
    expect(unpinned).toEqual({
      ok: true,
      checked: 5,
      head: 8,
      anchor: of.anchor.keyId,
      pinnedAnchor: null,
      problems: [],
      truncated: false,
      checkpoints: { checked: 1, coveredEvents: 3 },
      statements: { checked: 1, counted: 1 },
    });
    for (const size of [1, 7, 100, 4096]) expect(await verify(lines, { size })).toEqual(unpinned);
    // With the signatures checked in worker threads, as a long bundle is.
    expect(await verifyBundle(chunked(lines), { workersFrom: 0 })).toEqual(unpinned);
    expect(await verify(lines, { anchor: of.anchor.keyId })).toEqual({ ...unpinned, pinnedAnchor: of.anchor.keyId });
  });

  it("held to another anchor: the genesis is refused, and with it every signature", async () => {
    const lines = await bundleOf(ledger());
    const other = signerFromSeed(randomBytes(32)).keyId;
    const report = await verify(lines, { anchor: other });
    expect(report.ok).toBe(false);
    expect(report.anchor).toBeNull();
    expect(codes(report)).toEqual([
      { seq: 1, code: "anchor_mismatch" },
      { seq: 3, code: "untrusted_signer" },
      { seq: 4, code: "untrusted_signer" },
      { seq: 5, code: "untrusted_signer" },
      { seq: 6, code: "untrusted_signer" },
      { seq: 7, code: "untrusted_signer" },
      { seq: 8, code: "untrusted_signer" },
      { seq: 8, code: "untrusted_signer" },
    ]);
    expect(report.problems.at(-1)!.reason).toMatch(/^seal signed by key/);
  });

  it("carries a payload that is not UTF-8 as data64, byte for byte: the digest still matches checkpoints and seal", async () => {
    const garbage = Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0xc3, 0x28, 0x0a, 0x22]);
    const of = ledger((seq) => [{ seq, subject: accountSubject(`sa_${"C".repeat(26)}`), data: garbage, time: new Date() }]);
    const lines = await bundleOf(of);
    const line = JSON.parse(lines.find((text) => text.includes('"data64"'))!) as { seq: number; data64: string };
    expect(Buffer.from(line.data64, "base64").equals(garbage)).toBe(true);
    const report = await verify(lines);
    expect(codes(report)).toEqual([{ seq: line.seq, code: "unreadable" }]);
    expect(report.checked).toBe(6);
  });

  it("an unsealed bundle (the daemon's key was not trusted) is reported as such, and nothing else", async () => {
    const lines = await bundleOf(ledger(), null);
    expect(JSON.parse(lines.at(-1)!).end).toMatchObject({ signingKeyId: null, signature: null });
    const report = await verify(lines);
    expect(codes(report)).toEqual([{ seq: 8, code: "bundle_unsealed" }]);
  });

  it("a seal signed by a key the statements never enrolled, or whose signature is wrong, is reported with the key", async () => {
    const of = ledger();
    const stranger = signerFromSeed(randomBytes(32));
    const untrusted = await verify(await bundleOf(of, stranger));
    expect(untrusted.problems).toEqual([
      { seq: 8, code: "untrusted_signer", reason: expect.stringContaining("never enrolled"), kid: stranger.keyId },
    ]);
    const lines = await bundleOf(of);
    const seal = JSON.parse(lines.at(-1)!);
    seal.end.signature = Buffer.from(stranger.sign(Buffer.from("other bytes"))).toString("base64url");
    const forged = await verify([...lines.slice(0, -1), `${JSON.stringify(seal)}\n`]);
    expect(forged.problems).toEqual([{ seq: 8, code: "bad_signature", reason: expect.any(String), kid: of.anchor.keyId }]);
  });
});

describe("a bundle's header", () => {
  const header = async (first: string | null) => {
    const lines = await bundleOf(ledger());
    return verify(first === null ? [] : [first, ...lines.slice(1)]);
  };

  it("must be there, readable, of this format and of a version this verifier reads", async () => {
    expect((await header(null)).problems).toEqual([
      { seq: 0, code: "bundle_header", reason: expect.stringContaining("the bundle is empty"), line: 1 },
    ]);
    expect((await header("{not json\n")).problems[0]!.reason).toContain("not the header of a keyledger evidence bundle");
    expect((await header('{"format":"something-else","version":1}\n')).problems[0]!.code).toBe("bundle_header");
    const future = await header(
      '{"format":"keyledger-evidence","version":2,"stream":"S","head":1,"anchor":null,"exportedAt":"x"}\n',
    );
    expect(future.problems).toEqual([
      {
        seq: 0,
        code: "bundle_header",
        reason: expect.stringContaining("format version 2; this verifier reads version 1"),
        line: 1,
      },
    ]);
    expect(future).toMatchObject({ ok: false, checked: 0 });
    const badHead = await header(
      '{"format":"keyledger-evidence","version":1,"stream":"S","head":-1,"anchor":null,"exportedAt":"x"}\n',
    );
    expect(badHead.problems[0]!.reason).toContain("wrong type");
  });

  it("whose head differs from the seal's is a seal mismatch", async () => {
    const lines = await bundleOf(ledger());
    const first = JSON.parse(lines[0]!);
    const report = await verify([`${JSON.stringify({ ...first, head: 20 })}\n`, ...lines.slice(1)]);
    expect(report.problems).toEqual([
      { seq: 8, code: "bundle_seal_mismatch", reason: expect.stringContaining("the header says head 20, the seal 8") },
    ]);
  });
});

describe("a bundle's lines", () => {
  it("an unreadable line is reported with its line number, after the sequence before it", async () => {
    const lines = await bundleOf(ledger());
    for (const [bad, why] of [
      ["not json at all", "not a JSON object"],
      ['{"seq":7,"subject":"kl.acct.x","time":"yesterday","data":"{}"}', "time is not an ISO-8601 time"],
      [
        '{"seq":7,"subject":"kl.acct.x","time":"2026-12-05T10:00:00Z","data":"{}","data64":"e30="}',
        "a message line has exactly one of data and data64",
      ],
      ['{"seq":7,"subject":"kl.acct.x","time":"2026-12-05T10:00:00Z","data64":"e30"}', "not canonical base64"],
      ['{"seq":7,"subject":"kl.acct.x","time":"2026-12-05T10:00:00Z","data":"\\ud800"}', "lone surrogate"],
      ['{"seq":0,"subject":"kl.acct.x","time":"2026-12-05T10:00:00Z","data":"{}"}', "not a stream sequence"],
      ['{"seq":7,"subject":"kl.name.00","time":"2026-12-05T10:00:00Z","data":"{}"}', "is none of a bundle's"],
    ] as const) {
      const report = await verify([...lines.slice(0, 6), `${bad}\n`, ...lines.slice(7)]);
      expect(report.problems, bad).toContainEqual({
        seq: 6,
        code: "unreadable_line",
        reason: expect.stringMatching(new RegExp(`^line 7: .*${why.replace(/[()]/g, "\\$&")}`)),
        line: 7,
      });
    }
  });

  it("a line that is not UTF-8 is unreadable, and so is one cut off in the middle", async () => {
    const lines = await bundleOf(ledger());
    const bytes = Buffer.concat([
      Buffer.from(lines.slice(0, 6).join("")),
      Buffer.from([0xff, 0x0a]),
      Buffer.from(lines.slice(7, 8).join("")),
      Buffer.from(lines[8]!.slice(0, 20)),
    ]);
    async function* source(): AsyncGenerator<Uint8Array> {
      yield bytes;
    }
    const report = await verifyBundle(source());
    expect(report.problems).toContainEqual({
      seq: 6,
      code: "unreadable_line",
      reason: "line 7: not valid UTF-8",
      line: 7,
    });
    expect(report.problems).toContainEqual({
      seq: 8,
      code: "unreadable_line",
      reason: expect.stringContaining("line 9: "),
      line: 9,
    });
    expect(codes(report).at(-1)).toEqual({ seq: 8, code: "bundle_cut_off" });
  });

  it("a duplicated line, two lines swapped, a statement among the events: out of order, each at its sequence and line", async () => {
    const lines = await bundleOf(ledger());
    const duplicated = await verify([...lines.slice(0, 8), lines[7]!, lines[8]!]);
    expect(duplicated.problems).toContainEqual({
      seq: 8,
      code: "out_of_order",
      reason: "line 9: sequence 8 comes twice: a line was duplicated",
      line: 9,
    });
    const swapped = await verify([...lines.slice(0, 6), lines[7]!, lines[6]!, lines[8]!]);
    expect(codes(swapped)).toEqual([
      { seq: 7, code: "out_of_order" },
      { seq: 8, code: "bundle_seal_mismatch" },
    ]);
    expect(swapped.problems[0]!.reason).toBe(
      "line 8: this line (sequence 7) comes after sequence 8: lines were reordered or inserted",
    );
    const statementLate = await verify([lines[0]!, ...lines.slice(2, 8), lines[1]!, lines[8]!]);
    expect(statementLate.problems).toContainEqual({
      seq: 1,
      code: "out_of_order",
      reason: expect.stringContaining("a key statement after the events began"),
      line: 8,
    });
  });

  it("lists at most maxProblems problems, and says when there were more", async () => {
    const lines = await bundleOf(ledger());
    const reversed = [lines[0]!, lines[1]!, ...lines.slice(2, 8).reverse(), lines[8]!];
    const all = await verifyBundle(chunked(reversed));
    expect(all.problems.filter((problem) => problem.code === "out_of_order")).toHaveLength(5);
    expect(all.truncated).toBe(false);
    const capped = await verifyBundle(chunked(reversed), { maxProblems: 2 });
    expect(capped).toMatchObject({ ok: false, truncated: true });
    expect(capped.problems).toHaveLength(2);
  });

  it("nothing may follow the seal, and an export that failed says so in place of it", async () => {
    const lines = await bundleOf(ledger());
    const after = await verify([...lines, lines[7]!]);
    expect(after.problems).toEqual([
      {
        seq: 8,
        code: "unreadable_line",
        reason: "line 10: comes after the bundle's seal, which must be the last line",
        line: 10,
      },
    ]);
    const error = `${JSON.stringify({ error: { code: "unavailable", message: "the export could not read the whole stream", requestId: "r1" } })}\n`;
    const failed = await verify([...lines.slice(0, 6), error]);
    expect(failed.problems).toEqual([
      {
        seq: 6,
        code: "bundle_cut_off",
        reason: expect.stringContaining('the export failed before its end, saying: "the export could not read the whole stream"'),
      },
    ]);
  });
});
