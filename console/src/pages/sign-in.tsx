import { useState } from "preact/hooks";
import { SignInRefused, signIn, type Session } from "../session.js";
import { FailureLine } from "../failure.js";

/** An API key in, an access token out: the key's field is cleared as soon as it was sent. */
export function SignInPage(props: { notice: string | null; onSignedIn: (session: Session) => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const field = form.elements.namedItem("apiKey") as HTMLInputElement;
    const key = field.value.trim();
    field.value = "";
    if (key === "") return setError("Paste an API key.");
    setBusy(true);
    setError(null);
    try {
      props.onSignedIn(await signIn(key));
    } catch (failure) {
      setError(failure instanceof SignInRefused ? failure.message : "Signing in failed; try again.");
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="sign-in">
      <h1>keyledger console</h1>
      {props.notice !== null && (
        <p class="notice" role="status">
          {props.notice}
        </p>
      )}
      <form onSubmit={submit} autocomplete="off">
        <label for="api-key">API key of an admin or auditor account</label>
        <input id="api-key" name="apiKey" type="password" autocomplete="off" spellcheck={false} required />
        <p class="hint">The key is exchanged at once for a short-lived access token; the console never stores it.</p>
        <button type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
        <FailureLine text={error} />
      </form>
    </main>
  );
}
