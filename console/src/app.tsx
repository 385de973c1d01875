import { useState } from "preact/hooks";
import { AccountPage } from "./pages/account.js";
import { AccountsPage } from "./pages/accounts.js";
import { SignInPage } from "./pages/sign-in.js";
import type { Session } from "./session.js";

/** Signed out, or signed in; a session that ends leads back to sign-in with a sentence saying why. */
export function App() {
  const [session, setSession] = useState<Session | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [open, setOpen] = useState<string | null>(null);
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
        <button type="button" onClick={() => end("You signed out.")}>
          Sign out
        </button>
      </header>
      <main>
        {open === null ? (
          <AccountsPage session={session} onSessionEnded={ended} onOpen={setOpen} />
        ) : (
          <AccountPage session={session} account={open} onBack={() => setOpen(null)} onSessionEnded={ended} />
        )}
      </main>
    </div>
  );
}
