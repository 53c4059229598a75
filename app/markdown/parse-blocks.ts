// Block Markdown, line by line: fenced code (``` or ~~~; an unclosed fence runs to the end, which is what a
// streaming answer looks like mid-block), ATX headings, bullet and numbered lists (items hold blocks, so lists
// nest by indentation), block quotes, rules and paragraphs (single newlines become line breaks).
import { parseInline } from './parse-inline';
import type { Block } from './syntax';

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)[^`]*$/;
const HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t#]*$/;
const RULE = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const BULLET = /^( {0,3})([-*+])[ \t]+(.*)$/;
const NUMBERED = /^( {0,3})(\d{1,9})([.)])[ \t]+(.*)$/;
const QUOTE = /^ {0,3}>[ \t]?(.*)$/;

function startsBlock(line: string): boolean {
  return FENCE.test(line) || HEADING.test(line) || RULE.test(line) || BULLET.test(line) || NUMBERED.test(line) || QUOTE.test(line);
}

export function parseMarkdown(source: string): Block[] {
  return parseLines(source.replace(/\r\n?/g, '\n').split('\n'));
}

function parseLines(lines: string[]): Block[] {
  const blocks: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (line.trim() === '') { i++; continue; }
    const fence = FENCE.exec(line);
    if (fence) {
      const marker = fence[1]!;
      const body: string[] = [];
      i++;
      while (i < lines.length && !new RegExp(`^ {0,3}${marker[0]}{${marker.length},}\\s*$`).test(lines[i]!)) body.push(lines[i++]!);
      i++; // the closing fence (or past the end)
      blocks.push({ kind: 'code', language: fence[2] ?? '', text: body.join('\n') });
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      blocks.push({ kind: 'heading', level: heading[1]!.length as 1 | 2 | 3 | 4 | 5 | 6, children: parseInline(heading[2] ?? '') });
      i++;
      continue;
    }
    if (RULE.test(line)) { blocks.push({ kind: 'rule' }); i++; continue; }
    if (QUOTE.test(line)) {
      const quoted: string[] = [];
      while (i < lines.length && QUOTE.test(lines[i]!)) quoted.push(QUOTE.exec(lines[i++]!)![1]!);
      blocks.push({ kind: 'quote', children: parseLines(quoted) });
      continue;
    }
    if (BULLET.test(line) || NUMBERED.test(line)) {
      i = parseList(lines, i, blocks);
      continue;
    }
    const paragraph: string[] = [];
    while (i < lines.length && lines[i]!.trim() !== '' && (paragraph.length === 0 || !startsBlock(lines[i]!))) paragraph.push(lines[i++]!.trim());
    blocks.push({ kind: 'paragraph', children: parseInline(paragraph.join('\n')) });
  }
  return blocks;
}

interface ItemStart { ordered: boolean; number: number; content: string; indent: number }

function itemStart(line: string): ItemStart | null {
  const bullet = BULLET.exec(line);
  if (bullet) return { ordered: false, number: 1, content: bullet[3]!, indent: bullet[1]!.length + bullet[2]!.length + 1 };
  const numbered = NUMBERED.exec(line);
  if (numbered) return { ordered: true, number: Number(numbered[2]), content: numbered[4]!, indent: numbered[1]!.length + numbered[2]!.length + 2 };
  return null;
}

/** Reads one list starting at `start` into `blocks`; returns the index of the first line after it. */
function parseList(lines: string[], start: number, blocks: Block[]): number {
  const first = itemStart(lines[start]!)!;
  const items: Block[][] = [];
  let i = start;
  while (i < lines.length) {
    const item = itemStart(lines[i]!);
    if (!item || item.ordered !== first.ordered) break;
    const body = [item.content];
    i++;
    // Continuation: indented lines (nested lists, wrapped text), and blank lines followed by an indented one.
    while (i < lines.length) {
      const next = lines[i]!;
      if (next.trim() === '') {
        if (i + 1 < lines.length && /^\s{2,}\S/.test(lines[i + 1]!)) { body.push(''); i++; continue; }
        break;
      }
      if (/^\s{2,}\S/.test(next)) { body.push(next.replace(/^\s{1,4}/, '')); i++; continue; }
      if (itemStart(next) || startsBlock(next)) break;
      body.push(next); // a lazy continuation of the item's paragraph
      i++;
    }
    items.push(parseLines(body));
    if (i < lines.length && lines[i]!.trim() === '' && i + 1 < lines.length && itemStart(lines[i + 1]!)?.ordered === first.ordered) i++;
  }
  blocks.push({ kind: 'list', ordered: first.ordered, start: first.number, items });
  return i;
}
