import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { LazyRequestLogger } from "../../../src/api/request-logger.js";
import { createLogger } from "../../../src/logger.js";

function logger(level: string) {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString("utf8").split("\n")) if (text !== "") lines.push(JSON.parse(text));
      done();
    },
  });
  const parent = createLogger(level, stream);
  let children = 0;
  const child = parent.child;
  // Counts every child made (a child of the parent inherits this property: `this` is the maker).
  parent.child = function (this: typeof parent, ...args: Parameters<typeof child>) {
    children++;
    return child.apply(this, args);
  } as typeof parent.child;
  return { parent, lines, children: () => children };
}

describe("a request's logger", () => {
  it("makes no child logger while the request writes nothing at an enabled level", () => {
    const { parent, lines, children } = logger("info");
    const log = new LazyRequestLogger(parent, { reqId: "req_1" }, {});
    log.debug({ detail: 1 }, "not at info");
    log.trace("nor this");
    expect(children()).toBe(0);
    expect(lines).toEqual([]);
    expect(log.level).toBe("info");
  });

  it("writes what the child would, with the request's id, and redacts as the parent does", () => {
    const { parent, lines, children } = logger("info");
    const log = new LazyRequestLogger(parent, { reqId: "req_2" }, {});
    log.error({ authorization: "Bearer kl_secret" }, "request errored");
    log.warn("again");
    expect(children()).toBe(1);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ reqId: "req_2", level: 50, msg: "request errored", authorization: "[redacted]" });
    expect(lines[1]).toMatchObject({ reqId: "req_2", level: 40, msg: "again" });
  });

  it("follows a level set on it, and its own children keep the request's id", () => {
    const { parent, lines } = logger("info");
    const log = new LazyRequestLogger(parent, { reqId: "req_3" }, {});
    log.level = "debug";
    log.debug("now written");
    log.child({ part: "x" }).info("from a child");
    expect(lines.map((entry) => [entry.reqId, entry.msg])).toEqual([
      ["req_3", "now written"],
      ["req_3", "from a child"],
    ]);
  });
});
