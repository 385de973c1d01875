/** One section of a Markdown document: its heading and the text up to the next heading, whatever its level. */
export interface DocSection {
  readonly level: number;
  /** The heading's text; a heading that is one code span (`` `audit diff` ``) gives its content. */
  readonly title: string;
  /** The lines under the heading, up to the next heading. */
  readonly body: string;
  /** The heading's line number, from 1. */
  readonly line: number;
}

/** The sections of a Markdown document, in order; a `#` inside a fenced code block is no heading. */
export function docSections(markdown: string): DocSection[] {
  const sections: Array<{ level: number; title: string; line: number; lines: string[] }> = [];
  let fenced = false;
  markdown.split("\n").forEach((text, index) => {
    if (/^\s*(```|~~~)/.test(text)) fenced = !fenced;
    const heading = fenced ? null : /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(text);
    if (heading !== null) {
      const raw = heading[2]!;
      const code = /^`([^`]+)`$/.exec(raw);
      sections.push({ level: heading[1]!.length, title: code === null ? raw : code[1]!, line: index + 1, lines: [] });
      return;
    }
    sections.at(-1)?.lines.push(text);
  });
  return sections.map(({ level, title, line, lines }) => ({ level, title, line, body: lines.join("\n") }));
}

/** Whether `text` holds `flag` (such as `--name`) as a whole flag, not as the start of a longer one. */
export function mentionsFlag(text: string, flag: string): boolean {
  const escaped = flag.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(?<![\\w-])${escaped}(?![\\w-])`).test(text);
}
