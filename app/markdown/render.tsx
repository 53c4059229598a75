// Draws a Markdown tree (parse-blocks.ts) as React elements. Every string goes in as a React text child, which
// React escapes, so model output can never become markup; no dangerouslySetInnerHTML anywhere. Links open in a
// new tab without access to this page (rel="noopener noreferrer").
import type { ReactNode } from 'react';
import { CodeBlock } from './code-block';
import { parseMarkdown } from './parse-blocks';
import type { Block, Inline } from './syntax';

export function Markdown({ source }: { source: string }) {
  return <div className="markdown">{parseMarkdown(source).map(renderBlock)}</div>;
}

function renderBlock(block: Block, key: number): ReactNode {
  switch (block.kind) {
    case 'paragraph':
      return <p key={key}>{block.children.map(renderInline)}</p>;
    case 'heading': {
      const Tag = `h${block.level}` as const;
      return <Tag key={key}>{block.children.map(renderInline)}</Tag>;
    }
    case 'code':
      return <CodeBlock key={key} language={block.language} code={block.text} />;
    case 'list': {
      const items = block.items.map((item, index) => <li key={index}>{renderItem(item)}</li>);
      return block.ordered
        ? <ol key={key} start={block.start === 1 ? undefined : block.start}>{items}</ol>
        : <ul key={key}>{items}</ul>;
    }
    case 'quote':
      return <blockquote key={key}>{block.children.map(renderBlock)}</blockquote>;
    case 'rule':
      return <hr key={key} />;
  }
}

/** A list item that is one paragraph renders tight (no <p>), like most chat UIs. */
function renderItem(item: Block[]): ReactNode {
  const only = item[0];
  if (item.length === 1 && only?.kind === 'paragraph') return only.children.map(renderInline);
  if (only?.kind === 'paragraph') return [<span key="lead">{only.children.map(renderInline)}</span>, ...item.slice(1).map((b, i) => renderBlock(b, i + 1))];
  return item.map(renderBlock);
}

function renderInline(node: Inline, key: number): ReactNode {
  switch (node.kind) {
    case 'text':
      return node.text;
    case 'code':
      return <code key={key}>{node.text}</code>;
    case 'strong':
      return <strong key={key}>{node.children.map(renderInline)}</strong>;
    case 'em':
      return <em key={key}>{node.children.map(renderInline)}</em>;
    case 'del':
      return <del key={key}>{node.children.map(renderInline)}</del>;
    case 'link':
      return <a key={key} href={node.href} target="_blank" rel="noopener noreferrer">{node.children.map(renderInline)}</a>;
    case 'break':
      return <br key={key} />;
  }
}
