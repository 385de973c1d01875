import { Option, type Command } from "commander";
import type { Io } from "./io.js";

export type Format = "table" | "json";

/** Adds `-o, --output table|json` to a command. */
export function withOutput(command: Command): Command {
  return command.addOption(new Option("-o, --output <format>", "output format").choices(["table", "json"]).default("table"));
}

/** Prints the answer: JSON for machines, or the human text. */
export function emit(io: Io, format: Format, json: unknown, text: () => string): void {
  io.out(format === "json" ? JSON.stringify(json, null, 2) : text());
}
