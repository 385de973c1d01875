/** One figure of a row: a value and its unit ("ops/s", "ms", "MiB", "events/s"). */
export interface Figure {
  readonly value: number;
  readonly unit: string;
  /** Shown after the value, such as "p99 4.1 ms". */
  readonly detail?: string;
}

/** How a row's ratio or figure is judged. */
export interface Target {
  readonly text: string;
  readonly met: boolean;
}

export interface Row {
  readonly id: string;
  readonly name: string;
  readonly ours: Figure;
  readonly baselineName: string;
  /** Null when the row has an absolute target and no baseline (memory). */
  readonly baseline: Figure | null;
  /** ours ÷ baseline for rates, baseline ÷ ours for times; null without a baseline. */
  readonly ratio: number | null;
  readonly target: Target;
  /** What bounds the row or how it was measured. */
  readonly note?: string;
}

/** A rate row: higher is better, ratio = ours ÷ baseline. */
export function rateRow(fields: Omit<Row, "ratio" | "target">, minRatio: number, note?: string): Row {
  const ratio = fields.baseline === null ? null : fields.ours.value / fields.baseline.value;
  return {
    ...fields,
    ratio,
    target: { text: `ratio ≥ ${minRatio}`, met: ratio !== null && ratio >= minRatio },
    ...(note === undefined ? {} : { note }),
  };
}

export function formatFigure(figure: Figure): string {
  const value =
    figure.value >= 100 ? Math.round(figure.value).toLocaleString("en-US") : figure.value.toFixed(figure.value >= 10 ? 1 : 2);
  return `${value} ${figure.unit}${figure.detail === undefined ? "" : ` (${figure.detail})`}`;
}

function cells(row: Row): string[] {
  return [
    row.id,
    row.name,
    formatFigure(row.ours),
    row.baseline === null ? row.baselineName : `${formatFigure(row.baseline)}: ${row.baselineName}`,
    row.ratio === null ? "–" : row.ratio.toFixed(2),
    `${row.target.met ? "met" : "NOT met"}: ${row.target.text}`,
  ];
}

const HEADER = ["#", "measure", "keyledger", "baseline (same run)", "ratio", "target"];

/** The table for a terminal. */
export function textTable(rows: readonly Row[]): string {
  const all = [HEADER, ...rows.map(cells)];
  const widths = HEADER.map((_, column) => Math.max(...all.map((line) => line[column]!.length)));
  const line = (values: string[]) => values.map((value, column) => value.padEnd(widths[column]!)).join("  ");
  const notes = rows.filter((row) => row.note !== undefined).map((row) => `  ${row.id}: ${row.note}`);
  return [line(HEADER), line(widths.map((width) => "-".repeat(width))), ...all.slice(1).map(line), "", ...notes].join("\n");
}

/** The same table in Markdown. */
export function markdownTable(rows: readonly Row[]): string {
  const escape = (value: string) => value.replace(/\|/g, "\\|");
  const line = (values: string[]) => `| ${values.map(escape).join(" | ")} |`;
  const notes = rows.filter((row) => row.note !== undefined).map((row) => `- **${row.id}**: ${row.note}`);
  return [line(HEADER), line(HEADER.map(() => "---")), ...rows.map((row) => line(cells(row))), "", ...notes].join("\n");
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}
