// A fenced code block with its language label and a copy button (clipboard API; says "Copied" for a moment, or
// "Copy failed" where the page may not write the clipboard).
import { useEffect, useState } from 'react';

type CopyState = 'idle' | 'copied' | 'failed';

export function CodeBlock({ language, code }: { language: string; code: string }) {
  const [copy, setCopy] = useState<CopyState>('idle');
  useEffect(() => {
    if (copy === 'idle') return;
    const timer = setTimeout(() => setCopy('idle'), 1500);
    return () => clearTimeout(timer);
  }, [copy]);
  const onCopy = () => {
    navigator.clipboard.writeText(code).then(() => setCopy('copied'), () => setCopy('failed'));
  };
  return (
    <div className="code-block">
      <div className="code-block-bar">
        <span className="code-block-language">{language || 'text'}</span>
        <button type="button" className="code-block-copy" data-testid="copy-code" onClick={onCopy}>
          {copy === 'copied' ? 'Copied' : copy === 'failed' ? 'Copy failed' : 'Copy'}
        </button>
      </div>
      <pre><code className={language ? `language-${language}` : undefined}>{code}</code></pre>
    </div>
  );
}
