import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, logFormatFor } from "../../src/config.js";

describe("--log-format / KEYLEDGER_LOG_FORMAT", () => {
  it("defaults to pretty when the daemon's stdout is a terminal, and to JSON otherwise (a service)", () => {
    const config = loadConfig({}, {});
    expect(config.logFormat).toBeUndefined();
    expect(logFormatFor(config, true)).toBe("pretty");
    expect(logFormatFor(config, false)).toBe("json");
    // an empty variable is no setting, as for every other one
    expect(logFormatFor(loadConfig({}, { KEYLEDGER_LOG_FORMAT: "" }), false)).toBe("json");
  });

  it("takes the flag, or else the variable, whatever the terminal", () => {
    expect(loadConfig({ "log-format": "pretty" }, {}).logFormat).toBe("pretty");
    expect(loadConfig({}, { KEYLEDGER_LOG_FORMAT: "pretty" }).logFormat).toBe("pretty");
    expect(loadConfig({ "log-format": "json" }, { KEYLEDGER_LOG_FORMAT: "pretty" }).logFormat).toBe("json");
    expect(logFormatFor(loadConfig({ "log-format": "json" }, {}), true)).toBe("json");
    expect(logFormatFor(loadConfig({}, { KEYLEDGER_LOG_FORMAT: "pretty" }), false)).toBe("pretty");
  });

  it.each([
    [{ "log-format": "colour" }, {}, '--log-format must be one of json, pretty, got "colour"'],
    [{ "log-format": "" }, {}, "--log-format must be one of json, pretty"],
    [{}, { KEYLEDGER_LOG_FORMAT: "PRETTY" }, 'KEYLEDGER_LOG_FORMAT must be one of json, pretty, got "PRETTY"'],
    [{}, { KEYLEDGER_LOG_FORMAT: "text" }, "KEYLEDGER_LOG_FORMAT must be one of json, pretty"],
  ])("refuses %j %j, naming the setting", (flags, env, message) => {
    expect(() => loadConfig(flags, env)).toThrow(ConfigError);
    expect(() => loadConfig(flags, env)).toThrow(message);
  });
});
