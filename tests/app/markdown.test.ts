// The chat's Markdown renderer (app/markdown) rendered with react-dom/server: model output is untrusted, so raw
// HTML, <script>, event-handler attributes and javascript: links must come out as inert text; and the Markdown a
// model writes (code blocks, lists, links, emphasis, headings) must come out as the right elements.
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { parseMarkdown } from '../../app/markdown/parse-blocks';
import { Markdown } from '../../app/markdown/render';
import { safeHref } from '../../app/markdown/safe-url';

const html = (source: string) => renderToStaticMarkup(createElement(Markdown, { source }));

/** Every tag name in the output, and every attribute name on any tag. */
function tagsAndAttributes(markup: string): { tags: string[]; attributes: string[] } {
  const tags: string[] = [];
  const attributes: string[] = [];
  for (const [, name, rest] of markup.matchAll(/<([a-zA-Z][a-zA-Z0-9]*)([^>]*)>/g)) {
    tags.push(name!.toLowerCase());
    for (const [, attribute] of rest!.matchAll(/\s([^\s=]+)=/g)) attributes.push(attribute!.toLowerCase());
  }
  return { tags, attributes };
}

function expectInert(markup: string) {
  const { tags, attributes } = tagsAndAttributes(markup);
  expect(tags).not.toContain('img');
  expect(tags).not.toContain('script');
  expect(tags).not.toContain('iframe');
  expect(attributes.filter((a) => a.startsWith('on'))).toEqual([]);
  expect(markup).not.toMatch(/href="\s*javascript:/i);
}

describe('untrusted model output renders inert', () => {
  it('an <img onerror> tag comes out as escaped text', () => {
    const markup = html('Look: <img src=x onerror=alert(1)> here');
    expectInert(markup);
    expect(markup).toBe('<div class="markdown"><p>Look: &lt;img src=x onerror=alert(1)&gt; here</p></div>');
  });

  it('a <script> element comes out as escaped text', () => {
    const markup = html('<script>alert(1)</script>');
    expectInert(markup);
    expect(markup).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('a javascript: link renders as its source text, not as a link', () => {
    const markup = html('[x](javascript:alert(1))');
    expectInert(markup);
    expect(tagsAndAttributes(markup).tags).not.toContain('a');
    expect(markup).toContain('[x](javascript:alert(1))');
  });

  it('scheme tricks (case, whitespace, control characters, data:, vbscript:, relative) are refused', () => {
    for (const url of ['JaVaScRiPt:alert(1)', ' javascript:alert(1)', 'java\tscript:alert(1)', 'java\nscript:x',
      '\u0001javascript:x', 'data:text/html,<script>alert(1)</script>', 'vbscript:msgbox(1)', '/relative', '//evil.example/x']) {
      expect(safeHref(url), url).toBeNull();
    }
    expectInert(html('[a](JaVaScRiPt:alert(1)) <javascript:alert(1)> [b](data:text/html,x)'));
  });

  it('HTML inside code, headings, lists and link text stays text', () => {
    const markup = html([
      '# <img src=x onerror=alert(1)>',
      '- <script>alert(2)</script>',
      '`<img src=y onerror=alert(3)>`',
      '```html', '<script>alert(4)</script>', '```',
      '[<img src=z onerror=alert(5)>](https://example.com)',
      '> <iframe src="javascript:alert(6)"></iframe>',
    ].join('\n'));
    expectInert(markup);
    expect(markup.match(/&lt;(img|script|iframe)/g)).toHaveLength(6);
  });
});

describe('hostile input mixed at random', () => {
  const FRAGMENTS = ['<img src=x onerror=alert(1)>', '<script>', '</script>', '<a href="javascript:x">', 'javascript:alert(1)',
    '[', ']', '(', ')', '<', '>', '*', '**', '_', '`', '```', '~~~', '\\', '\n', '\n\n', '- ', '1. ', '# ', '> ', '  ', 'https://ok.example/',
    'mailto:a@b.example', '[x](https://ok.example/a)', '<https://ok.example/b>', '[y](javascript:alert(1))', '](', '"', "'", '&', 'onclick=alert(1)', 'text', '<svg onload=alert(1)>', 'data:text/html,x', ' '];
  const ALLOWED_TAGS = new Set(['div', 'p', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'ul', 'ol', 'li', 'span', 'blockquote', 'hr', 'br',
    'pre', 'code', 'strong', 'em', 'del', 'a', 'button']);
  const ALLOWED_ATTRIBUTES = new Set(['class', 'href', 'target', 'rel', 'start', 'type', 'data-testid']);

  it('2000 random documents only ever produce the renderer\'s own tags, attributes and http(s)/mailto hrefs', () => {
    let seed = 12345;
    let links = 0;
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let doc = 0; doc < 2000; doc++) {
      const source = Array.from({ length: 1 + Math.floor(random() * 30) }, () => FRAGMENTS[Math.floor(random() * FRAGMENTS.length)]).join('');
      const markup = html(source);
      const { tags, attributes } = tagsAndAttributes(markup);
      expect(tags.filter((t) => !ALLOWED_TAGS.has(t)), source).toEqual([]);
      expect(attributes.filter((a) => !ALLOWED_ATTRIBUTES.has(a)), source).toEqual([]);
      for (const [, href] of markup.matchAll(/href="([^"]*)"/g)) {
        expect(href, source).toMatch(/^(https?:\/\/|mailto:)/);
        links++;
      }
    }
    expect(links).toBeGreaterThan(20); // the mix does make links, so the href check ran
  });
});

describe('Markdown a model writes', () => {
  it('fenced code blocks keep their text verbatim, with a language label and a copy button', () => {
    const markup = html('Run:\n\n```ts\nconst a = 1 < 2 && "x";\n  indented();\n```\nafter');
    expect(markup).toContain('<pre><code class="language-ts">const a = 1 &lt; 2 &amp;&amp; &quot;x&quot;;\n  indented();</code></pre>');
    expect(markup).toContain('<span class="code-block-language">ts</span>');
    expect(markup).toContain('data-testid="copy-code"');
    expect(markup).toContain('<p>after</p>');
  });

  it('an unclosed fence (an answer still streaming) is a code block to the end', () => {
    expect(parseMarkdown('text\n```py\nprint(1)\nprint(2)')).toEqual([
      { kind: 'paragraph', children: [{ kind: 'text', text: 'text' }] },
      { kind: 'code', language: 'py', text: 'print(1)\nprint(2)' },
    ]);
  });

  it('bullet and numbered lists, nested by indentation', () => {
    const markup = html('- one\n- two\n  1. inner a\n  2. inner b\n- three\n\n3. third\n4. fourth');
    expect(markup).toBe('<div class="markdown"><ul><li>one</li><li><span>two</span><ol><li>inner a</li><li>inner b</li></ol></li>'
      + '<li>three</li></ul><ol start="3"><li>third</li><li>fourth</li></ol></div>');
  });

  it('http(s) and mailto links become anchors that open without access to this page', () => {
    const markup = html('See [the docs](https://example.com/a?b=1&c=2) or <mailto:someone@example.com>.');
    expect(markup).toContain('<a href="https://example.com/a?b=1&amp;c=2" target="_blank" rel="noopener noreferrer">the docs</a>');
    expect(markup).toContain('<a href="mailto:someone@example.com" target="_blank" rel="noopener noreferrer">mailto:someone@example.com</a>');
  });

  it('emphasis, strong, strikethrough, inline code, escapes and snake_case', () => {
    expect(html('**bold** and *it* and ~~gone~~ and `a*b*c` and \\*lit\\* and snake_case_name')).toBe(
      '<div class="markdown"><p><strong>bold</strong> and <em>it</em> and <del>gone</del> and <code>a*b*c</code>'
      + ' and *lit* and snake_case_name</p></div>');
  });

  it('headings, quotes, rules and line breaks inside a paragraph', () => {
    expect(html('## Title\n\n> quoted\n\n---\nline one\nline two')).toBe(
      '<div class="markdown"><h2>Title</h2><blockquote><p>quoted</p></blockquote><hr/><p>line one<br/>line two</p></div>');
  });
});
