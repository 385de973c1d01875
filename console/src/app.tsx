import { useState } from "preact/hooks";
import { AccountPage } from "./pages/account.js";
import { IntegrityPage } from "./pages/integrity.js";
import { AccountsPage } from "./pages/accounts.js";
import { SignInPage } from "./pages/sign-in.js";
import { TimelinePage } from "./pages/timeline.js";
import type { Session } from "./session.js";

/** Signed out, or signed in; a session that ends leads back to sign-in with a sentence saying why. */
export function App() {
  const [session, setSession] = useState<Session | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [view, setView] = useState<"accounts" | "timeline" | "integrity">("accounts");
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
        </nav>
        <button type="button" onClick={() => end("You signed out.")}>
          Sign out
        </button>
      </header>
      <main>
        {view === "integrity" ? (
          <IntegrityPage session={session} onSessionEnded={ended} />
        ) : view === "timeline" ? (
          <TimelinePage session={session} onSessionEnded={ended} />
        ) : open === null ? (
          <AccountsPage session={session} onSessionEnded={ended} onOpen={setOpen} />
        ) : (
          <AccountPage session={session} account={open} onBack={() => setOpen(null)} onSessionEnded={ended} />
        )}
      </main>
    </div>
  );
}
