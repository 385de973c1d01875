import { describe, expect, it } from "vitest";
import { parseBoolean, parseDuration } from "../../../src/cli/duration.js";
import { UsageError } from "../../../src/cli/usage-error.js";

describe("durations of --retain and --expires-in", () => {
  it.each([
    ["60", 3600],
    ["0", 0],
    ["90s", 90],
    ["15m", 900],
    ["2h", 7200],
    ["1d", 86_400],
    ["30d", 2_592_000],
  ])("reads %s as %i seconds (a bare number is minutes)", (value, seconds) => {
    expect(parseDuration("--retain", value)).toBe(seconds);
  });

  it.each(["", "2x", "1.5h", "-5", "5 m", "h", "1w", "1e3"])("refuses %j with a usage error naming the flag", (value) => {
    expect(() => parseDuration("--expires-in", value)).toThrow(UsageError);
    expect(() => parseDuration("--expires-in", value)).toThrow(/--expires-in/);
  });

  it("reads booleans as true/false/yes/no in any case, and nothing else", () => {
    expect(parseBoolean("--active", "true")).toBe(true);
    expect(parseBoolean("--active", "false")).toBe(false);
    for (const word of ["yes", "YES", "True"]) expect(parseBoolean("--active", word), word).toBe(true);
    for (const word of ["no", "No", "FALSE"]) expect(parseBoolean("--active", word), word).toBe(false);
    for (const word of ["y", "1", "maybe", ""]) expect(() => parseBoolean("--active", word), word).toThrow(/--active/);
  });
});
