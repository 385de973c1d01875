import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { readLine } from "../../../src/audit/bundle-line.js";
import { textLines } from "../../../src/audit/bundle-lines.js";
import { messageLine } from "../../../src/format/index.js";
import { LastLine } from "../../../src/client/last-line.js";

async function* pieces(...chunks: Array<string | Uint8Array>): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) yield typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
}

async function all<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

describe("the bundle line reader", () => {
  it("numbers lines from 1 across any chunk boundaries, a multi-byte character split included", async () => {
    const check = Buffer.from("✓", "utf8");
    const lines = await all(
      textLines(pieces("first\nsec", "ond\n", check.subarray(0, 1), Buffer.concat([check.subarray(1), Buffer.from("\n\nlast")]))),
    );
    expect(lines).toEqual([
      { number: 1, text: "first" },
      { number: 2, text: "second" },
      { number: 3, text: "✓" },
      { number: 4, text: "" },
      { number: 5, text: "last" },
    ]);
  });

  it("gives a line that is not UTF-8, or too long, without its text, and goes on after it", async () => {
    const lines = await all(textLines(pieces(Buffer.from([0x41, 0xc3, 0x28, 0x0a]), "x".repeat(30), "y\nok\n"), 16));
    expect(lines).toEqual([
      { number: 1, text: null, reason: "not valid UTF-8" },
      { number: 2, text: null, reason: "longer than 16 bytes" },
      { number: 3, text: "ok" },
    ]);
  });
});

describe("a message line", () => {
  it("gives back the stored payload byte for byte, UTF-8 or not", () => {
    const payloads = [
      Buffer.from('{"a":"ünïcødé ✓ 🎉"}', "utf8"),
      Buffer.from("\ufeff{}", "utf8"), // a byte order mark stays
      Buffer.from('{"a":"\u2028\u2029\\n"}\n', "utf8"), // separators and a newline inside
      Buffer.from([0xff, 0xfe, 0xfd]),
      Buffer.from([0xed, 0xa0, 0x80]), // an encoded surrogate: not UTF-8
      Buffer.alloc(0),
      randomBytes(257),
    ];
    for (const data of payloads) {
      const time = new Date("2026-12-05T10:00:00.123Z");
      const line = messageLine({ seq: 42, subject: "kl.acct.x", data, time });
      expect(line.endsWith("\n") && !line.slice(0, -1).includes("\n")).toBe(true);
      const read = readLine(line.slice(0, -1));
      expect(read.kind).toBe("message");
      if (read.kind !== "message") continue;
      expect(Buffer.from(read.message.data).equals(data), line).toBe(true);
      expect(read.message).toMatchObject({ seq: 42, subject: "kl.acct.x", time });
      expect("data64" in JSON.parse(line)).toBe(!Buffer.from(data.toString("utf8"), "utf8").equals(data));
    }
  });
});

describe("the SDK's view of an answer's last line", () => {
  it("finds it whatever the chunks, and knows when the stream did not end with a whole line", () => {
    const text = '{"a":1}\n{"b":2}\n{"end":{"head":3}}\n';
    for (const size of [1, 2, 5, 9, 100]) {
      const last = new LastLine();
      const bytes = new TextEncoder().encode(text);
      for (let at = 0; at < bytes.length; at += size) last.push(bytes.subarray(at, at + size));
      expect(last.line(), `chunks of ${size}`).toBe('{"end":{"head":3}}');
      expect(last.unfinished).toBe(false);
    }
    const cut = new LastLine();
    cut.push(new TextEncoder().encode('{"a":1}\n{"end":'));
    expect(cut.line()).toBe('{"a":1}');
    expect(cut.unfinished).toBe(true);
    const empty = new LastLine();
    expect(empty.line()).toBeNull();
  });
});
