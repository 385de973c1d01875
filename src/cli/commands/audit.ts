import type { Command } from "commander";
import type { AuditDiff, AuditReport, AuditState } from "../../client/http.js";
import { parseAsOf, parseCount } from "../arguments.js";
import { connectedClient } from "../connect.js";
import { diffTable, stateTable, table } from "../format.js";
import type { Io } from "../io.js";
import { emit, withOutput, type Format } from "../output.js";
import { count, progressLine } from "../progress.js";
import { CommandFailed, UsageError } from "../usage-error.js";
import { checkBundleFile } from "./audit-bundle-check.js";
import { addAuditExportCommand } from "./audit-export.js";

/**
 * `keyledger audit verify` (of the stream, or offline of a bundle), `audit export`, `audit state
 * --as-of` and `audit diff --from --to`.
 */
export function addAuditCommands(program: Command, io: Io): void {
  const group = program
    .command("audit")
    .description(
      "check the event stream (or an evidence bundle of it offline), export the bundle, and see the state at a point in history or what changed between two",
    );

  withOutput(
    group
      .command("verify")
      .description("check every event's signature, hash and chain link, and the signed checkpoints of the stream")
      .option("--max-problems <n>", "list at most this many problems (default: 1000)")
      .option(
        "--anchor <kid>",
        "the trust anchor the ledger must have (default: the one the daemon pinned; with --bundle, the bundle's own, not pinned)",
      )
      .option("--bundle <file>", "check an evidence bundle (from audit export) offline: no daemon, no login needed"),
  )
    .addHelpText(
      "after",
      [
        "",
        "Exit code 0 when the stream checks out, 1 when a problem was found (each is listed with its",
        "stream sequence and reason) or the audit could not run. On a terminal, progress is shown on stderr.",
        "With --bundle FILE the check runs here, on the file alone: pin the ledger's anchor with --anchor KID.",
      ].join("\n"),
    )
    .action(async (options: { maxProblems?: string; anchor?: string; bundle?: string; output: Format }) => {
      const maxProblems =
        options.maxProblems === undefined ? undefined : parseCount("--max-problems", options.maxProblems, 100_000);
      if (options.anchor !== undefined && !/^[A-Za-z0-9_-]{16}$/.test(options.anchor))
        throw new UsageError("--anchor must be a signing key id: 16 characters of A–Z a–z 0–9 _ -");
      if (options.bundle !== undefined) {
        const report = await checkBundleFile(io, options.bundle, { anchor: options.anchor, maxProblems });
        emit(io, options.output, report, () => auditText(report));
        if (!report.ok) throw new CommandFailed(`the bundle check ${found(report)}`);
        return;
      }
      const client = await connectedClient(io);
      const progress = progressLine(io);
      let report: AuditReport;
      try {
        // Always as NDJSON: the answer keeps coming while a long stream is checked.
        report = await client.verifyAudit({
          maxProblems,
          anchor: options.anchor,
          onProgress: ({ seq, head, checked, problems }) =>
            progress.show(
              `checking: seq ${count(seq)} of ${count(head)} (${head === 0 ? 100 : Math.floor((seq / head) * 100)}%), ` +
                `${count(checked)} events checked, ${count(problems)} problem${problems === 1 ? "" : "s"}…`,
            ),
        });
      } finally {
        progress.clear();
      }
      emit(io, options.output, report, () => auditText(report));
      if (!report.ok) throw new CommandFailed(report.problems.length === 0 ? "the audit failed" : `the audit ${found(report)}`);
    });

  addAuditExportCommand(group, io);

  withOutput(
    group
      .command("state")
      .description("every service account and API key as they were at a point in history, with each key's status then")
      .requiredOption("--as-of <time|seq>", "an ISO-8601 time with its zone (2030-01-31T12:00:00Z) or a stream sequence"),
  ).action(async (options: { asOf: string; output: Format }) => {
    const asOf = parseAsOf("--as-of", options.asOf);
    const client = await connectedClient(io);
    const progress = progressLine(io);
    let state: AuditState;
    try {
      state = await client.auditState(asOf, {
        onPage: (accounts) => progress.show(`reading the state: ${count(accounts)} accounts…`),
      });
    } finally {
      progress.clear();
    }
    emit(io, options.output, state, () => stateText(state));
  });

  withOutput(
    group
      .command("diff")
      .description("the service accounts and API keys created, deleted or changed between two points in history")
      .requiredOption("--from <time|seq>", "the first point: an ISO-8601 time with its zone or a stream sequence")
      .option("--to <time|seq>", "the second point, not before the first (default: now, the stream's head)"),
  ).action(async (options: { from: string; to?: string; output: Format }) => {
    const from = parseAsOf("--from", options.from);
    const to = options.to === undefined ? undefined : parseAsOf("--to", options.to);
    const client = await connectedClient(io);
    const progress = progressLine(io);
    let diff: AuditDiff;
    try {
      diff = await client.auditDiff(from, to, {
        onPage: (accounts) => progress.show(`reading the changes: ${count(accounts)} accounts…`),
      });
    } finally {
      progress.clear();
    }
    emit(io, options.output, diff, () => diffText(diff));
  });
}

/** "found 3 problems", "found more than 1000 problems". */
function found(report: AuditReport): string {
  const listed = report.problems.length;
  return `found ${report.truncated ? "more than " : ""}${listed} problem${listed === 1 ? "" : "s"}`;
}

function auditText(report: AuditReport): string {
  const scope = `${count(report.checked)} events checked up to seq ${count(report.head)}`;
  const checkpoints = `${count(report.checkpoints.checked)} checkpoint${report.checkpoints.checked === 1 ? "" : "s"} (covering ${count(report.checkpoints.coveredEvents)} events)`;
  const statements = `${count(report.statements.counted)} of ${count(report.statements.checked)} key statements counted`;
  const anchor =
    report.anchor === null
      ? "no trust anchor that counts"
      : `trust anchor ${report.anchor}${
          report.pinnedAnchor === null
            ? " (NOT pinned: the bundle's own header named it; pin yours with --anchor KID)"
            : report.pinnedAnchor === report.anchor
              ? " (as pinned)"
              : ""
        }`;
  if (report.ok) return `OK: ${scope}, ${checkpoints}, ${statements}, ${anchor}; no problems.`;
  const lines = [
    `${report.truncated ? "More than " : ""}${count(report.problems.length)} problem${report.problems.length === 1 ? "" : "s"} found: ${scope}, ${checkpoints}, ${statements}, ${anchor}.`,
    "",
    table(
      ["SEQ", "PROBLEM", "REASON"],
      report.problems.map((problem) => [String(problem.seq), problem.code, problem.reason]),
    ),
  ];
  if (report.truncated) lines.push("", "Only the first problems are listed: see --max-problems.");
  return lines.join("\n");
}

function stateText(state: AuditState): string {
  const accounts = state.serviceAccounts.length;
  const heading = `As of seq ${count(state.asOf.seq)} (${state.asOf.at}): ${count(accounts)} service account${accounts === 1 ? "" : "s"}.`;
  return accounts === 0 ? heading : `${heading}\n\n${stateTable(state.serviceAccounts)}`;
}

function diffText(diff: AuditDiff): string {
  const accounts = diff.accounts.length;
  const heading =
    `From seq ${count(diff.from.seq)} (${diff.from.at}) to seq ${count(diff.to.seq)} (${diff.to.at}): ` +
    `${count(diff.events)} event${diff.events === 1 ? "" : "s"}, ${count(accounts)} service account${accounts === 1 ? "" : "s"} changed.`;
  return accounts === 0 ? heading : `${heading}\n\n${diffTable(diff.accounts)}`;
}
