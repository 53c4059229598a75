// Inline Markdown: `code`, **strong** / __strong__, *em* / _em_, ~~del~~, [text](url), <url>, backslash escapes
// and line breaks. A construct without its closing delimiter, and a link whose URL safe-url.ts refuses, stays
// literal text. Raw HTML is not recognised at all, so `<img ...>` or `<script>` come out as the characters typed.
import type { Inline } from './syntax';
import { safeHref } from './safe-url';

const ESCAPABLE = '\\`*_{}[]()#+-.!~<>|';
const AUTOLINK = /^<((?:https?:\/\/|mailto:)[^\s<>]+)>/i;

export function parseInline(source: string, allowLinks = true): Inline[] {
  const out: Inline[] = [];
  let text = '';
  const pushText = (more: string) => { text += more; };
  const flushText = () => {
    if (text) out.push({ kind: 'text', text });
    text = '';
  };
  let i = 0;
  while (i < source.length) {
    const ch = source[i]!;
    if (ch === '\\' && i + 1 < source.length && ESCAPABLE.includes(source[i + 1]!)) {
      pushText(source[i + 1]!);
      i += 2;
      continue;
    }
    if (ch === '\n') {
      flushText();
      out.push({ kind: 'break' });
      i += 1;
      continue;
    }
    if (ch === '`') {
      let tickEnd = i;
      while (source[tickEnd] === '`') tickEnd++;
      const ticks = source.slice(i, tickEnd);
      const end = source.indexOf(ticks, i + ticks.length);
      if (end > i) {
        flushText();
        out.push({ kind: 'code', text: source.slice(i + ticks.length, end).replace(/^ (.+) $/, '$1') });
        i = end + ticks.length;
        continue;
      }
      pushText(ticks);
      i += ticks.length;
      continue;
    }
    const link = allowLinks ? matchLink(source, i) : null;
    if (link) {
      flushText();
      out.push(link.node);
      i = link.end;
      continue;
    }
    const emphasis = matchEmphasis(source, i, allowLinks);
    if (emphasis) {
      flushText();
      out.push(emphasis.node);
      i = emphasis.end;
      continue;
    }
    pushText(ch);
    i += 1;
  }
  flushText();
  return out;
}

function matchLink(source: string, start: number): { node: Inline; end: number } | null {
  const auto = source[start] === '<' ? AUTOLINK.exec(source.slice(start)) : null;
  if (auto) {
    const href = safeHref(auto[1]!);
    return href ? { node: { kind: 'link', href, children: [{ kind: 'text', text: auto[1]! }] }, end: start + auto[0].length } : null;
  }
  if (source[start] !== '[') return null;
  let depth = 0;
  let close = -1;
  for (let j = start; j < source.length; j++) {
    if (source[j] === '\\') { j++; continue; }
    if (source[j] === '[') depth++;
    if (source[j] === ']' && --depth === 0) { close = j; break; }
  }
  if (close < 0 || source[close + 1] !== '(') return null;
  const target = /^\(\s*([^\s()]*(?:\([^\s()]*\)[^\s()]*)*)(?:\s+"[^"]*")?\s*\)/.exec(source.slice(close + 1));
  if (!target) return null;
  const href = safeHref(target[1]!);
  if (!href) return null; // refused target: the whole `[text](url)` stays as typed
  const children = parseInline(source.slice(start + 1, close), false);
  return { node: { kind: 'link', href, children }, end: close + 1 + target[0].length };
}

const DELIMITERS: { mark: string; kind: 'strong' | 'em' | 'del' }[] = [
  { mark: '**', kind: 'strong' }, { mark: '__', kind: 'strong' }, { mark: '~~', kind: 'del' },
  { mark: '*', kind: 'em' }, { mark: '_', kind: 'em' },
];

function isWordChar(ch: string | undefined): boolean {
  return ch !== undefined && /[\p{L}\p{N}]/u.test(ch);
}

function matchEmphasis(source: string, start: number, allowLinks: boolean): { node: Inline; end: number } | null {
  for (const { mark, kind } of DELIMITERS) {
    if (!source.startsWith(mark, start)) continue;
    const contentStart = start + mark.length;
    if (/\s/.test(source[contentStart] ?? ' ')) return null; // "* item" or "a * b" is not emphasis
    // Underscores inside words (snake_case) are not emphasis.
    if (mark[0] === '_' && isWordChar(source[start - 1])) return null;
    let end = source.indexOf(mark, contentStart);
    while (end > contentStart && (/\s/.test(source[end - 1]!) || (mark === '*' && source[end + 1] === '*' && source[end + 2] !== '*'))) {
      end = source.indexOf(mark, end + mark.length + (mark === '*' ? 1 : 0));
    }
    if (end <= contentStart) return null;
    if (mark[0] === '_' && isWordChar(source[end + mark.length])) return null;
    const children = parseInline(source.slice(contentStart, end), allowLinks);
    return { node: { kind, children }, end: end + mark.length };
  }
  return null;
}
