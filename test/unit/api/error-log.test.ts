import { Writable } from "node:stream";
import Fastify from "fastify";
import { describe, expect, it } from "vitest";
import { errorHandler, HttpError } from "../../../src/api/errors.js";
import { StoreUnavailableError } from "../../../src/events/index.js";
import { createLogger } from "../../../src/logger.js";
import { SigningKeyNotTrustedError } from "../../../src/trust/index.js";

/** A fastify app with the daemon's error handler and logger, whose routes throw what they are told. */
async function appThrowing(errors: Record<string, () => Error>) {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString("utf8").split("\n")) if (line.trim() !== "") lines.push(JSON.parse(line));
      callback();
    },
  });
  const app = Fastify({ loggerInstance: createLogger("info", sink) as never });
  app.setErrorHandler(errorHandler);
  for (const [path, error] of Object.entries(errors))
    app.get(path, async () => {
      throw error();
    });
  await app.ready();
  return { app, lines };
}

describe("how a 5xx is logged", () => {
  it("an expected 503 (an audit already running, a store outage, an untrusted signing key) is one warning, without a stack", async () => {
    const { app, lines } = await appThrowing({
      "/busy": () => new HttpError("unavailable", "audits are already running on this daemon; try again when they end", 10),
      "/outage": () => new StoreUnavailableError("the event store is not connected"),
      "/pending": () => new SigningKeyNotTrustedError("AAAAAAAAAAAAAAAA"),
    });
    for (const path of ["/busy", "/outage", "/pending"]) {
      const answer = await app.inject({ method: "GET", url: path });
      expect(answer.statusCode).toBe(503);
    }
    const refused = lines.filter((line) => line.msg === "request refused");
    expect(refused).toHaveLength(3);
    for (const line of refused) {
      expect(line.level).toBe(40);
      expect(JSON.stringify(line)).not.toContain("stack");
      expect(line.err).toBeUndefined();
    }
    expect(lines.some((line) => line.level === 50)).toBe(false);
  });

  it("anything unexpected is an error with its stack, and its message never reaches the client", async () => {
    const { app, lines } = await appThrowing({ "/bug": () => new TypeError("secret internal detail") });
    const answer = await app.inject({ method: "GET", url: "/bug" });
    expect(answer.statusCode).toBe(500);
    expect(answer.body).not.toContain("secret internal detail");
    const failed = lines.find((line) => line.msg === "request failed");
    expect(failed?.level).toBe(50);
    expect(JSON.stringify(failed)).toContain("stack");
  });
});
