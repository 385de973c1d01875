import { KeyledgerApiError } from "@keyledger/client/http";
import { useState } from "preact/hooks";
import { sessionEnded } from "./session.js";

/**
 * A page's failure line: an API error says its own message, anything else `fallback`; a 401 ends
 * the session instead (the caller leads back to sign-in).
 */
export function useFailure(onSessionEnded: () => void, fallback = "The daemon could not be reached; try again.") {
  const [failure, setFailure] = useState<string | null>(null);
  const fail = (error: unknown): void => {
    if (sessionEnded(error)) onSessionEnded();
    else setFailure(error instanceof KeyledgerApiError ? error.message : fallback);
  };
  return { failure, fail, say: setFailure };
}

/** The failure line itself, announced to screen readers; nothing when there is none. */
export function FailureLine(props: { text: string | null }) {
  if (props.text === null) return null;
  return (
    <p class="error" role="alert">
      {props.text}
    </p>
  );
}
