import { describe, expect, it } from "vitest";
import { auditAdmission } from "../../../src/api/audit-admission.js";
import { HttpError } from "../../../src/api/errors.js";

const refusal = (run: () => unknown): HttpError => {
  try {
    run();
  } catch (error) {
    if (error instanceof HttpError) return error;
    throw error;
  }
  throw new Error("not refused");
};

describe("the caps on audit requests", () => {
  it("refuse a principal beyond its own cap with 429 and Retry-After, naming the setting, and let others in", () => {
    const audits = auditAdmission({ perPrincipal: 2, total: 10 });
    audits.hold("auditor-a");
    audits.hold("auditor-a");
    const refused = refusal(() => audits.hold("auditor-a"));
    expect(refused.code).toBe("rate_limited");
    expect(refused.retryAfterSeconds).toBe(1);
    expect(refused.message).toContain("max-audit-requests-per-principal 2");
    expect(() => audits.hold("auditor-b")).not.toThrow();
  });

  it("refuse everyone beyond the daemon's cap with 503", () => {
    const audits = auditAdmission({ perPrincipal: 5, total: 2 });
    audits.hold("a");
    audits.hold("b");
    const refused = refusal(() => audits.hold("c"));
    expect(refused.code).toBe("unavailable");
    expect(refused.message).toContain("max-audit-requests 2");
  });

  it("free the slot when the work ends, however it ends", async () => {
    const audits = auditAdmission({ perPrincipal: 1, total: 1 });
    await expect(audits.run("a", async () => 42)).resolves.toBe(42);
    await expect(audits.run("a", async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    let inside: Promise<unknown> = Promise.resolve();
    await audits.run("a", async () => {
      inside = audits.run("a", async () => 1).catch((error: unknown) => error);
    });
    expect(await inside).toBeInstanceOf(HttpError);
    await expect(audits.run("a", async () => "again")).resolves.toBe("again");
  });

  it("free a held slot once, however often `done` is called", () => {
    const audits = auditAdmission({ perPrincipal: 1, total: 5 });
    const held = audits.hold("a");
    held.done();
    held.done();
    audits.hold("a");
    expect(() => audits.hold("a")).toThrow(HttpError);
  });
});
