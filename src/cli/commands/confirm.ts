import type { Io } from "../io.js";

/** On a terminal, asks before a deletion unless `-y`; elsewhere (scripts, CI) goes ahead. */
export async function confirmed(io: Io, question: string, yes: boolean | undefined): Promise<boolean> {
  if (yes === true || !io.stdinIsTTY) return true;
  const answer = (await io.ask(`${question} [y/N] `, false)).trim().toLowerCase();
  return answer === "y" || answer === "yes";
}
