/** Which terminal a block of the README's walkthrough is typed into. */
export type ShellName = "first" | "second" | "third";

export interface WalkthroughBlock {
  readonly step: number;
  readonly title: string;
  readonly shell: ShellName;
  /** Its commands, `\`-continued lines joined, blank and comment-only lines left out. */
  readonly lines: readonly string[];
}

/**
 * The code blocks of the README's "Walkthrough" section, in order, each with the step it belongs
 * to. Step 1 runs in the first shell; a block whose first line is a comment `# third shell` (or
 * first, second) runs there; every other block in the second shell, as the README says.
 */
export function walkthroughBlocks(readme: string): WalkthroughBlock[] {
  const start = readme.indexOf("\n## Walkthrough");
  if (start < 0) throw new Error("the README has no Walkthrough section");
  const end = readme.indexOf("\n## ", start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end).split("\n");
  const blocks: WalkthroughBlock[] = [];
  let step = 0;
  let title = "";
  let code: string[] | null = null;
  for (const line of section) {
    if (code !== null) {
      if (line.trim() === "```") {
        blocks.push(block(step, title, code));
        code = null;
      } else code.push(line);
      continue;
    }
    const heading = /^\*\*(\d+)\. ([^*]+)\*\*/.exec(line);
    if (heading !== null) {
      step = Number(heading[1]);
      title = heading[2]!.trim();
    } else if (/^```(sh|bash)?\s*$/.test(line.trim())) code = [];
  }
  if (code !== null) throw new Error("a code block of the walkthrough is not closed");
  return blocks;
}

function block(step: number, title: string, raw: string[]): WalkthroughBlock {
  const joined: string[] = [];
  let pending = "";
  for (const line of raw) {
    if (line.endsWith("\\")) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    joined.push(pending + line);
    pending = "";
  }
  const named = /^#\s*(first|second|third) shell\b/.exec(joined[0]?.trim() ?? "");
  const shell: ShellName = named !== null ? (named[1] as ShellName) : step === 1 ? "first" : "second";
  const lines = joined.map((line) => line.trim()).filter((line) => line !== "" && !line.startsWith("#"));
  return { step, title, shell, lines };
}
