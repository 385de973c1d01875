import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { bundleOf, ledger } from "./ledger-fixture.js";

/** docs/evidence-bundle.md shows each kind of line byte for byte: its examples must have the members, in the order, that the export writes. */
describe("docs/evidence-bundle.md", () => {
  it("shows the header, a message line and the seal with the export's members in the export's order", async () => {
    const doc = await readFile("docs/evidence-bundle.md", "utf8");
    const examples = [...doc.matchAll(/```text\n(.*)\n```/g)].map((match) => JSON.parse(match[1]!) as Record<string, unknown>);
    expect(examples).toHaveLength(3);
    const lines = (await bundleOf(ledger())).map((line) => JSON.parse(line) as Record<string, unknown>);
    const [header, message, seal] = examples;
    expect(Object.keys(header!)).toEqual(Object.keys(lines[0]!));
    expect(Object.keys(message!)).toEqual(Object.keys(lines[1]!));
    expect(Object.keys(seal!)).toEqual(["end"]);
    expect(Object.keys(seal!.end as object)).toEqual(Object.keys(lines.at(-1)!.end as object));
    // The signed bytes it spells out: every member of the seal but the signature, sorted.
    const signed = /So the signed bytes are\n`(\{.*\})`/.exec(doc)?.[1];
    expect(Object.keys(JSON.parse(signed!))).toEqual(
      Object.keys(seal!.end as object)
        .filter((name) => name !== "signature")
        .sort(),
    );
  });
});
