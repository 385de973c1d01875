import { UsageError } from "./usage-error.js";

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;

/**
 * A duration flag in seconds: `90s`, `15m`, `2h`, `1d`, or a bare number of minutes (`--retain 60`
 * means an hour, as users of the service-account workflow expect). Anything else is a usage error
 * that names the flag.
 */
export function parseDuration(flag: string, value: string): number {
  const match = /^(\d{1,9})([smhd]?)$/.exec(value.trim());
  if (match === null) {
    throw new UsageError(`${flag} must be a duration such as 60 (minutes), 90s, 15m, 2h or 1d, got ${JSON.stringify(value)}`);
  }
  const unit = (match[2] === "" ? "m" : match[2]) as keyof typeof UNIT_SECONDS;
  return Number(match[1]) * UNIT_SECONDS[unit];
}

/** `true`/`yes` or `false`/`no`, in any case. */
export function parseBoolean(flag: string, value: string): boolean {
  const word = value.trim().toLowerCase();
  if (word === "true" || word === "yes") return true;
  if (word === "false" || word === "no") return false;
  throw new UsageError(`${flag} takes true or false (or yes or no), not ${JSON.stringify(value)}`);
}
