import type { Command } from "commander";
import type { EventEnvelope, EventType, KeyledgerClient } from "../../client/http.js";
import { ACCOUNT_ID_PATTERN, EVENT_TYPES } from "../../domain/index.js";
import { parseEventType, parseSequence } from "../arguments.js";
import { connectedClient } from "../connect.js";
import { AccountNames } from "../account-names.js";
import { eventHeader, eventLine, SEQUENCE_GAPS } from "../event-format.js";
import { KeyledgerApiError } from "../../client/http.js";
import type { Io } from "../io.js";
import { withOutput, type Format } from "../output.js";
import { count, progressLine } from "../progress.js";

interface EventsOptions {
  readonly after?: string;
  readonly account?: string;
  readonly type?: string;
  readonly follow?: boolean;
  readonly wide?: boolean;
  readonly output: Format;
}

/** `keyledger events`: the history of the stream, and with --follow its live tail. */
export function addEventsCommand(program: Command, io: Io): void {
  withOutput(
    program
      .command("events")
      .description("list the events of the stream, oldest first; with --follow, then print new events as they happen")
      .option("--after <seq>", "only events after this stream sequence (default: from the first)")
      .option("--account <name>", "only the events of this service account (its id, or its current name)")
      .option("--type <type>", "only events of this type (see below)")
      .option("--follow", "after the history, keep printing new events until Ctrl-C or SIGTERM (then exit 0)")
      .option("--wide", "show accounts and actors by name and id (the table shows names; -o json has ids)"),
  )
    .addHelpText(
      "after",
      [
        "",
        "Output: an aligned table, printed as the events come; with -o json one JSON object per",
        "event and line (NDJSON), so that --follow works in a pipe:",
        "  keyledger events --follow -o json | jq -c '{seq, type}'",
        "Each event carries its stream sequence (seq): --after SEQ goes on after it. Sequences",
        "skip the stream's other messages (signing key statements, checkpoints, name claims).",
        "On a terminal, progress through a long history is shown on stderr.",
        "",
        "Event types:",
        ...EVENT_TYPES.map((type) => `  ${type}`),
      ].join("\n"),
    )
    .action(async (options: EventsOptions) => {
      const after = options.after === undefined ? 0 : parseSequence("--after", options.after);
      const type = options.type === undefined ? undefined : parseEventType("--type", options.type);
      const client = await connectedClient(io);
      const account = options.account === undefined ? undefined : await accountId(client, options.account);
      const interruption = options.follow === true ? io.interruptible() : undefined;
      try {
        await printEvents(io, client, {
          after,
          account,
          type,
          format: options.output,
          wide: options.wide === true,
          signal: interruption?.signal,
        });
      } finally {
        interruption?.release();
      }
    });
}

/**
 * An account filter as an id, so that a rename while the command runs changes nothing. A name no
 * current account bears goes to the daemon as it is: it answers the events of the last account that
 * bore it (a deleted `ci-runner`, say).
 */
async function accountId(client: KeyledgerClient, idOrName: string): Promise<string> {
  if (ACCOUNT_ID_PATTERN.test(idOrName)) return idOrName; // deleted accounts too: the API takes their id
  try {
    return (await client.getServiceAccount(idOrName)).id;
  } catch (error) {
    if (error instanceof KeyledgerApiError && error.status === 404) return idOrName;
    throw error;
  }
}

interface Printing {
  readonly after: number;
  readonly account: string | undefined;
  readonly type: EventType | undefined;
  readonly format: Format;
  readonly wide: boolean;
  /** Present with --follow: the tail runs until it aborts. */
  readonly signal: AbortSignal | undefined;
}

async function printEvents(io: Io, client: KeyledgerClient, how: Printing): Promise<void> {
  const progress = progressLine(io);
  let printed = 0;
  let headerShown = false;
  let lastSeq = how.after;
  let gaps = false;
  const names = new AccountNames(client);
  const print = async (events: readonly EventEnvelope[]): Promise<void> => {
    if (events.length === 0) return;
    if (how.format === "json") {
      progress.clear();
      io.out(events.map((event) => JSON.stringify(event)).join("\n"));
    } else {
      await names.prepare(events);
      progress.clear();
      if (!headerShown) io.out(eventHeader(how.wide));
      headerShown = true;
      const lines: string[] = [];
      for (const event of events) {
        if (event.seq !== lastSeq + 1 && printed + lines.length > 0) gaps = true;
        lastSeq = event.seq;
        lines.push(eventLine(event, names, how.wide));
        names.learn(event);
      }
      io.out(lines.join("\n"));
    }
    printed += events.length;
    await io.drain();
  };

  // The history, page by page; `position` is how far it was read, where the live tail goes on.
  let position = how.after;
  for await (const page of client.eventPages({ after: how.after, account: how.account, type: how.type })) {
    await print(page.items);
    position = Math.max(position, page.next ?? 0, page.items.at(-1)?.seq ?? 0);
    if (page.next !== null) progress.show(`reading events: ${count(printed)} shown, at seq ${count(position)}…`);
    if (how.signal?.aborted === true) break;
  }
  progress.clear();
  if (how.signal === undefined) {
    if (printed === 0 && how.format === "table") io.out("No events.");
    if (gaps && how.format === "table") io.out(`\n${SEQUENCE_GAPS}`);
    return;
  }
  if (how.signal.aborted) return;

  if (io.stderrIsTTY) io.err(`Following new events after seq ${count(position)} (Ctrl-C to stop)…`);
  const live = client.followEvents({
    after: position,
    account: how.account,
    type: how.type,
    signal: how.signal,
    onReconnect: ({ reason, delayMs }) =>
      io.err(`keyledger: the event stream was interrupted (${reason}); reconnecting in ${Math.ceil(delayMs / 1000)} s`),
  });
  for await (const event of live) await print([event]);
}
