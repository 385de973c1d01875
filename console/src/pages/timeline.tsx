import type { AuditReport, EventEnvelope, EventType, SigningKey } from "@keyledger/client/http";
import { useEffect, useState } from "preact/hooks";
import { type Session } from "../session.js";
import { FailureLine, useFailure } from "../failure.js";

interface Filters {
  readonly account: string;
  readonly type: string;
}

/** Who caused an event, as a person reads it. */
function actorText(event: EventEnvelope): string {
  return event.actor.kind === "system"
    ? `keyledger (${event.actor.reason})`
    : `${event.actor.serviceAccountId} with ${event.actor.apiKeyId}`;
}

/** Whether the event's chain link is found among the events loaded: its account's previous event's hash. */
function chainText(event: EventEnvelope, loaded: ReadonlyMap<number, EventEnvelope>): string {
  if (event.prevHash === null) return "the first event of its account";
  for (const other of loaded.values())
    if (other.accountId === event.accountId && other.hash === event.prevHash)
      return `follows #${other.seq} of the same account (its hash)`;
  return "its account's previous event is not loaded here (the Integrity page's audit checks the whole chain)";
}

/** The event's verdict in the last audit: its hash, chain and signature checked by the daemon, or not yet. */
function auditText(event: EventEnvelope, audit: AuditReport | null): string {
  if (audit === null || event.seq > audit.head) return "not audited yet: run the audit on the Integrity page";
  const found = audit.problems.filter((problem) => problem.seq === event.seq);
  if (found.length > 0) return found.map((problem) => `${problem.code}: ${problem.reason}`).join("; ");
  return audit.truncated
    ? "no problem listed (the audit found more problems than it lists)"
    : `hash, chain and signature checked by the audit up to #${audit.head}: no problem`;
}

/**
 * The history, as the stream holds it: filtered by account (a name it bears or bore, or an id) and
 * type through the API, by actor and time here; newest or oldest first; live over the event stream.
 */
export function TimelinePage(props: { session: Session; audit: AuditReport | null; onSessionEnded: () => void }) {
  const { api } = props.session;
  const [filters, setFilters] = useState<Filters>({ account: "", type: "" });
  const [events, setEvents] = useState<ReadonlyMap<number, EventEnvelope>>(new Map());
  const [next, setNext] = useState<number | null>(0);
  const [newestFirst, setNewestFirst] = useState(true);
  const [live, setLive] = useState(false);
  const [actor, setActor] = useState("");
  const [since, setSince] = useState("");
  const [keys, setKeys] = useState<ReadonlyMap<string, SigningKey>>(new Map());
  const { failure, fail, say: setFailure } = useFailure(props.onSessionEnded);

  const add = (more: readonly EventEnvelope[]): void =>
    setEvents((current) => {
      const merged = new Map(current);
      for (const event of more) merged.set(event.seq, event); // by sequence: an event seen twice is one
      return merged;
    });
  const query = (after: number) => ({
    after,
    limit: 200,
    ...(filters.account.trim() === "" ? {} : { account: filters.account.trim() }),
    ...(filters.type === "" ? {} : { type: filters.type as EventType }),
  });
  const loadMore = async (after: number): Promise<void> => {
    setFailure(null);
    try {
      const page = await api.listEvents(query(after));
      add(page.items);
      setNext(page.next);
    } catch (error) {
      fail(error);
    }
  };

  useEffect(() => {
    setEvents(new Map());
    void loadMore(0);
  }, [filters]);
  useEffect(() => {
    api.signingKeys().then((list) => setKeys(new Map(list.items.map((key) => [key.kid, key]))), fail);
  }, []);
  useEffect(() => {
    if (!live) return;
    const stop = new AbortController();
    const after = Math.max(0, ...events.keys());
    (async () => {
      try {
        // The SDK reconnects with Last-Event-ID after a drop: every event once.
        for await (const event of api.followEvents({ ...query(after), signal: stop.signal })) add([event]);
      } catch (error) {
        if (!stop.signal.aborted) fail(error);
      }
    })();
    return () => stop.abort();
  }, [live, filters]);

  const sinceMs = since === "" ? Number.NEGATIVE_INFINITY : Date.parse(since);
  const wanted = actor.trim().toLowerCase();
  const shown = [...events.values()]
    .filter(
      (event) => (wanted === "" || actorText(event).toLowerCase().includes(wanted)) && Date.parse(event.occurredAt) >= sinceMs,
    )
    .sort((a, b) => (newestFirst ? b.seq - a.seq : a.seq - b.seq));
  const types = [...new Set([...events.values()].map((event) => event.type))].sort();

  return (
    <section aria-labelledby="timeline-title">
      <h1 id="timeline-title">Audit timeline</h1>
      <form
        class="filters"
        onSubmit={(event) => {
          event.preventDefault();
          const data = new FormData(event.currentTarget as HTMLFormElement);
          setFilters({ account: String(data.get("account") ?? ""), type: String(data.get("type") ?? "") });
        }}
      >
        <label for="filter-account">Account (a name, also a past one, or an id)</label>
        <input id="filter-account" name="account" />
        <label for="filter-type">Type</label>
        <select id="filter-type" name="type">
          <option value="">all types</option>
          {types.map((type) => (
            <option key={type} value={type}>
              {type}
            </option>
          ))}
        </select>
        <button type="submit">Apply</button>
      </form>
      <label for="filter-actor">Actor (account or key id, or keyledger)</label>
      <input id="filter-actor" value={actor} onInput={(event) => setActor((event.currentTarget as HTMLInputElement).value)} />
      <label for="filter-since">Since (an ISO time)</label>
      <input
        id="filter-since"
        value={since}
        placeholder="2026-12-06T00:00:00Z"
        onInput={(event) => setSince((event.currentTarget as HTMLInputElement).value)}
      />
      <div class="actions">
        <button type="button" onClick={() => setNewestFirst(!newestFirst)}>
          {newestFirst ? "Oldest first" : "Newest first"}
        </button>
        <label class="inline">
          <input
            type="checkbox"
            checked={live}
            onChange={(event) => setLive((event.currentTarget as HTMLInputElement).checked)}
          />{" "}
          Live
        </label>
      </div>
      <FailureLine text={failure} />
      <p class="hint">
        {shown.length} of {events.size} events loaded{live ? "; new ones appear as they happen" : ""}
      </p>
      <ol class="timeline">
        {shown.map((event) => {
          const key = keys.get(event.signingKeyId);
          return (
            <li key={event.seq} data-seq={event.seq} data-type={event.type}>
              <details>
                <summary>
                  #{event.seq} {event.type} · {event.accountId} · {event.occurredAt} · {actorText(event)}
                </summary>
                <dl class="fields">
                  <dt>Chain</dt>
                  <dd class="chain">{chainText(event, events)}</dd>
                  <dt>Audit</dt>
                  <dd class="audit">{auditText(event, props.audit)}</dd>
                  <dt>Signed by</dt>
                  <dd class="signer">
                    {event.signingKeyId} (
                    {key === undefined ? "unknown key" : key.anchor ? `${key.status}, the trust anchor` : key.status})
                  </dd>
                </dl>
                <pre>{JSON.stringify(event, null, 2)}</pre>
              </details>
            </li>
          );
        })}
      </ol>
      {next !== null && (
        <button type="button" onClick={() => loadMore(next)}>
          Load more
        </button>
      )}
    </section>
  );
}
