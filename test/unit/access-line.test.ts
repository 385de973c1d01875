import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { accessLineWriter, createLogger, type AccessLine } from "../../src/logger.js";

function sink(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(
        ...chunk
          .toString("utf8")
          .split("\n")
          .filter((line) => line !== ""),
      );
      done();
    },
  });
  return { stream, lines };
}

const line: AccessLine = {
  reqId: "req_01M94MSTH6D665YVQ1NSJTCAQ6",
  req: { method: "POST", path: "/v1/auth/verify", remoteAddress: "127.0.0.1" },
  res: { statusCode: 200 },
  responseTime: 0.731,
};

describe("the access line's writer", () => {
  it("writes the line pino would write for the same fields, in the same order", () => {
    const ours = sink();
    const theirs = sink();
    accessLineWriter(createLogger("info", ours.stream))(line);
    // pino with the daemon's base and time, without its request serialiser (an access line's `req` is already its summary).
    const reference = pino({ base: { service: "keyledger" }, timestamp: pino.stdTimeFunctions.isoTime }, theirs.stream);
    reference.info({ reqId: line.reqId, req: line.req, res: line.res, responseTime: line.responseTime }, "request completed");
    expect(ours.lines).toHaveLength(1);
    const parsed = JSON.parse(ours.lines[0]!);
    const expected = JSON.parse(theirs.lines[0]!);
    expect(Object.keys(parsed)).toEqual(Object.keys(expected));
    expect({ ...parsed, time: "t" }).toEqual({ ...expected, time: "t" });
    expect(Date.parse(parsed.time)).not.toBeNaN();
  });

  it("stays one valid JSON line whatever the path holds, leaves out a missing address and writes null for no time", () => {
    const out = sink();
    const write = accessLineWriter(createLogger("info", out.stream));
    write({ ...line, req: { method: "GET", path: '/v1/"quoted"\n\\{}', remoteAddress: undefined }, responseTime: Number.NaN });
    expect(out.lines).toHaveLength(1);
    const parsed = JSON.parse(out.lines[0]!);
    expect(parsed.req).toEqual({ method: "GET", path: '/v1/"quoted"\n\\{}' });
    expect(parsed.responseTime).toBeNull();
  });

  it("writes nothing when the logger's level is above info", () => {
    const out = sink();
    accessLineWriter(createLogger("warn", out.stream))(line);
    expect(out.lines).toEqual([]);
  });
});

describe("the daemon's standard output", () => {
  it("writes a line of a running process without waiting for 4 KiB more or for the exit", async () => {
    const logger = resolve(import.meta.dirname, "../../dist/logger.js");
    const script = `import(${JSON.stringify(logger)}).then((m) => { m.bufferedStdout().write("one line\\n"); setTimeout(() => {}, 60000); });`;
    const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    // A line held until the exit would never come: the child is killed (no exit handler runs) first.
    const killer = setTimeout(() => child.kill("SIGKILL"), 4000);
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
      child.kill("SIGKILL");
    });
    await new Promise((done) => child.once("close", done));
    clearTimeout(killer);
    expect(output).toBe("one line\n");
  });
});
