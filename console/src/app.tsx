import { useState } from "preact/hooks";
import type { AsOf, AuditReport } from "@keyledger/client/http";
import { AccountPage } from "./pages/account.js";
import { DiffPage } from "./pages/diff.js";
import { IntegrityPage } from "./pages/integrity.js";
import { AccountsPage } from "./pages/accounts.js";
import { SignInPage } from "./pages/sign-in.js";
import { TimelinePage } from "./pages/timeline.js";
import type { Session } from "./session.js";
import { parsePoint, POINT_HELP } from "./time-point.js";

/** Signed out, or signed in; a session that ends leads back to sign-in with a sentence saying why. */
export function App() {
  const [session, setSession] = useState<Session | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [view, setView] = useState<"accounts" | "timeline" | "integrity" | "diff">("accounts");
  const [asOf, setAsOf] = useState<AsOf | null>(null);
  // The last audit run on the Integrity page: the timeline shows each event's verdict from it.
  const [audit, setAudit] = useState<AuditReport | null>(null);
  const [travelError, setTravelError] = useState<string | null>(null);
  if (session === null)
    return (
      <SignInPage
        notice={notice}
        onSignedIn={(started) => {
          setNotice(null);
          setSession(started);
        }}
      />
    );
  const end = (why: string | null) => {
    setNotice(why);
    setOpen(null);
    setAsOf(null);
    setAudit(null);
    setSession(null);
  };
  const ended = () => end("Your session ended: the access token expired or was revoked. Sign in again.");
  return (
    <div class="shell">
      <header class="bar">
        <span class="brand">keyledger</span>
        <span class="who">
          Signed in as <strong>{session.name}</strong> ({session.roles.join(", ")})
        </span>
        <nav aria-label="Pages">
          <button
            type="button"
            aria-current={view === "accounts" ? "page" : undefined}
            onClick={() => (setView("accounts"), setOpen(null))}
          >
            Accounts
          </button>
          <button type="button" aria-current={view === "timeline" ? "page" : undefined} onClick={() => setView("timeline")}>
            Audit timeline
          </button>
          <button type="button" aria-current={view === "integrity" ? "page" : undefined} onClick={() => setView("integrity")}>
            Integrity
          </button>
          <button type="button" aria-current={view === "diff" ? "page" : undefined} onClick={() => setView("diff")}>
            What changed
          </button>
        </nav>
        <button type="button" onClick={() => end("You signed out.")}>
          Sign out
        </button>
      </header>
      <form
        class="travel"
        onSubmit={(event) => {
          event.preventDefault();
          const text = String(new FormData(event.currentTarget as HTMLFormElement).get("asOf") ?? "");
          const point = parsePoint(text);
          setTravelError(point === null ? `A point in history is ${POINT_HELP}.` : null);
          if (point !== null) setAsOf(point);
        }}
      >
        <label for="as-of">Time travel to</label>
        <input id="as-of" name="asOf" placeholder="42 or 2026-12-06T10:00:00Z" />
        <button type="submit">Go</button>
        {asOf !== null && (
          <button type="button" onClick={() => setAsOf(null)}>
            Back to now
          </button>
        )}
        {travelError !== null && (
          <span class="error" role="alert">
            {travelError}
          </span>
        )}
      </form>
      {asOf !== null && (
        <p class="banner" role="status">
          You are looking at the past: the accounts as they were at {typeof asOf === "number" ? `sequence ${asOf}` : String(asOf)}
          . Nothing can be changed here.
        </p>
      )}
      <main>
        {view === "diff" ? (
          <DiffPage session={session} onSessionEnded={ended} />
        ) : view === "integrity" ? (
          <IntegrityPage session={session} onSessionEnded={ended} onAudited={setAudit} />
        ) : view === "timeline" ? (
          <TimelinePage session={session} audit={audit} onSessionEnded={ended} />
        ) : open === null ? (
          <AccountsPage session={session} asOf={asOf} onSessionEnded={ended} onOpen={setOpen} />
        ) : (
          <AccountPage session={session} asOf={asOf} account={open} onBack={() => setOpen(null)} onSessionEnded={ended} />
        )}
      </main>
    </div>
  );
}
