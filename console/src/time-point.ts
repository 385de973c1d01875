import type { AsOf } from "@keyledger/client/http";

/** A point in history as typed: a stream sequence (`42`) or an ISO time with its zone; null: neither. */
export function parsePoint(text: string): AsOf | null {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  if (/(Z|[+-]\d\d:\d\d)$/.test(trimmed) && !Number.isNaN(Date.parse(trimmed))) return trimmed;
  return null;
}

export const POINT_HELP = "a stream sequence (42) or an ISO time with its zone (2026-12-06T10:00:00Z)";
