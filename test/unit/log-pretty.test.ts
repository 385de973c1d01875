import type { DestinationStream } from "pino";
import { describe, expect, it } from "vitest";
import { prettyDestination, prettyLine, prettyLines } from "../../src/log-pretty.js";
import { createLogger } from "../../src/logger.js";

const KEY = `kl_01K0F0XTVRE00000000000000B_${"A".repeat(43)}`;
const TIME = /^\d\d:\d\d:\d\d\.\d{3} /;

/** What a logger writes to a destination, one string per write. */
function sink(): DestinationStream & { readonly writes: string[] } {
  const writes: string[] = [];
  return { writes, write: (chunk: string) => void writes.push(chunk) };
}

/** The project's real logger (its redaction and serializers), writing pretty lines; answers them without their time. */
function prettyLogger(level = "trace") {
  const out = sink();
  const logger = createLogger(level, prettyDestination(out));
  const written = (): string[] => out.writes.map((chunk) => chunk.replace(TIME, ""));
  return { logger, out, written };
}

describe("pretty log lines", () => {
  it("formats a record as time, level, message, then its fields as key=value", () => {
    const line = JSON.stringify({
      level: 30,
      time: "2026-12-05T12:34:56.789Z",
      service: "keyledger",
      msg: "daemon ready",
      port: 8080,
      trustAnchor: "abcdefghijklmnop",
    });
    expect(prettyLine(line)).toBe("12:34:56.789 INFO  daemon ready  port=8080 trustAnchor=abcdefghijklmnop");
    expect(prettyLine(JSON.stringify({ level: 40, time: Date.UTC(2026, 0, 1, 1, 2, 3, 4), msg: "m" }))).toBe(
      "01:02:03.004 WARN  m",
    );
  });

  it("names every level, padded so that the messages line up", () => {
    const { logger, out, written } = prettyLogger();
    for (const level of ["trace", "debug", "info", "warn", "error", "fatal"] as const) logger[level]("message");
    expect(out.writes.every((chunk) => TIME.test(chunk) && chunk.endsWith("\n"))).toBe(true);
    expect(written()).toEqual([
      "TRACE message\n",
      "DEBUG message\n",
      "INFO  message\n",
      "WARN  message\n",
      "ERROR message\n",
      "FATAL message\n",
    ]);
  });

  it("shows strings bare when they can be, quoted when not, and objects as compact JSON; the service never", () => {
    const { logger, written } = prettyLogger();
    logger.child({ component: "trust" }).info(
      {
        url: "http://127.0.0.1:8080",
        name: "two words",
        empty: "",
        quote: 'a"b',
        ok: true,
        none: null,
        nested: { a: 1, b: [1, "x"] },
      },
      "listening",
    );
    expect(written()).toEqual([
      'INFO  listening  component=trust url=http://127.0.0.1:8080 name="two words" empty="" quote="a\\"b" ok=true none=null nested={"a":1,"b":[1,"x"]}\n',
    ]);
  });

  it("keeps each record on one line and writes no control character a value holds (no forged line, no terminal escape)", () => {
    const { logger, written } = prettyLogger();
    logger.warn({ name: "evil\n12:00:00.000 INFO  forged", colour: "\u001b[31mred", bidi: "a\u202eb" }, "two\nlines\u001b[2J");
    const [line] = written();
    expect(line!.slice(0, -1)).not.toMatch(/[\n\r\u001b\u202e]/);
    expect(line).toBe(
      'WARN  "two\\nlines\\u001b[2J"  name="evil\\n12:00:00.000 INFO  forged" colour="\\u001b[31mred" bidi="a\\u202eb"\n',
    );
  });

  it("shows an error's type after err=, and its message and stack on the indented lines that follow", () => {
    const { logger, written } = prettyLogger();
    logger.error({ err: new Error("boom") }, "shutdown failed");
    const [first, ...rest] = written()[0]!.split("\n");
    expect(first).toBe("ERROR shutdown failed  err=Error");
    expect(rest[0]).toBe("    Error: boom");
    expect(rest[1]).toMatch(/^ {8}at /);
    expect(rest.at(-1)).toBe("");
  });

  it("shows an error's other fields after err=, and its cause after its stack", () => {
    const { logger, written } = prettyLogger();
    const error = Object.assign(new Error("outer", { cause: new RangeError("inner") }), { code: "E_OUTER" });
    logger.warn({ err: error, component: "projector" }, "retrying");
    const lines = written()[0]!.split("\n");
    expect(lines[0]).toBe('WARN  retrying  err={"type":"Error","code":"E_OUTER"} component=projector');
    expect(lines[1]).toBe("    Error: outer");
    expect(lines).toContain("    caused by: RangeError: inner");
  });

  it("shows an error's message before its stack when the stack does not show it", () => {
    const err = { type: "Error", message: "changed", stack: "Error: original\n    at f (x.js:1:1)" };
    expect(prettyLine(JSON.stringify({ level: 50, time: "2026-12-05T00:00:00.000Z", msg: "failed", err }))).toBe(
      "00:00:00.000 ERROR failed  err=Error\n    changed\n    Error: original\n        at f (x.js:1:1)",
    );
  });

  it("keeps a redacted secret redacted, exactly as the JSON lines do", () => {
    const record = {
      apiKey: KEY,
      headers: { authorization: `Bearer ${KEY}` },
      account: { name: "ci", token: KEY },
      body: { key: KEY },
    };
    const json = sink();
    createLogger("info", json).info(record, "request");
    const pretty = prettyLogger("info");
    pretty.logger.info(record, "request");

    const [jsonLine] = json.writes;
    expect(jsonLine).not.toContain(KEY.slice(-43));
    expect(JSON.parse(jsonLine!)).toMatchObject({
      apiKey: "[redacted]",
      headers: { authorization: "[redacted]" },
      account: { token: "[redacted]" },
      body: "[redacted]",
    });
    const [prettyOut] = pretty.written();
    expect(prettyOut).not.toContain(KEY.slice(-43));
    expect(prettyOut).toBe(
      'INFO  request  apiKey=[redacted] headers={"authorization":"[redacted]"} account={"name":"ci","token":"[redacted]"} body=[redacted]\n',
    );
    // the same as formatting the JSON line itself
    expect(prettyLine(jsonLine!.trimEnd()).replace(TIME, "")).toBe(prettyOut!.trimEnd());
  });

  it.each([
    ["plain text", "nats-server: something happened"],
    ["broken JSON", '{"level":30,"msg":"cut'],
    ["JSON that is no object", "[1,2,3]"],
    ["an object without a level", '{"msg":"no level"}'],
    ["a quoted string", '"just a string"'],
  ])("passes %s through unchanged", (_, line) => {
    expect(prettyLine(line)).toBe(line);
    expect(prettyLines(`${line}\n`)).toBe(`${line}\n`);
  });

  it("formats each line of a chunk on its own", () => {
    const record = JSON.stringify({ level: 50, time: "2026-12-05T00:00:00.000Z", msg: "bad" });
    expect(prettyLines(`garbage\n${record}\n\n`)).toBe("garbage\n00:00:00.000 ERROR bad\n\n");
  });
});
