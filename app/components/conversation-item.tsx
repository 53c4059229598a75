// One entry of the conversation list: select on click, rename in place (Enter keeps, Escape cancels), delete, and
// the size of its latent KV cache stored in the browser (nothing when it has none; the tooltip says tokens and format).
import { useState } from 'react';
import { deleteConversation } from '../chat-actions';
import { useAppStore } from '../store';
import { cacheSizeLabel } from '../store/kv-settings';
import type { Conversation } from '../store/types';

export function ConversationItem({ conversation, selected }: { conversation: Conversation; selected: boolean }) {
  const selectConversation = useAppStore((s) => s.selectConversation);
  const renameConversation = useAppStore((s) => s.renameConversation);
  const busy = useAppStore((s) => s.generatingIn === conversation.id);
  const storedCache = useAppStore((s) => s.storedCaches[conversation.id]);
  const [draft, setDraft] = useState<string | null>(null);
  const cacheLabel = cacheSizeLabel(storedCache);

  if (draft !== null) {
    const commit = () => { renameConversation(conversation.id, draft); setDraft(null); };
    return (
      <li className="conversation-item editing" data-testid="conversation-item">
        <input
          aria-label="Conversation title"
          value={draft}
          autoFocus
          onChange={(e) => setDraft(e.target.value)}
          onBlur={commit}
          onKeyDown={(e) => {
            if (e.key === 'Enter') commit();
            if (e.key === 'Escape') setDraft(null);
          }}
        />
      </li>
    );
  }
  return (
    <li className={`conversation-item${selected ? ' selected' : ''}`} data-testid="conversation-item" aria-current={selected ? 'true' : undefined}>
      <div className="conversation-main">
        <button type="button" className="conversation-title" onClick={() => selectConversation(conversation.id)} title={conversation.title}>
          {conversation.title}
        </button>
        {cacheLabel && storedCache && (
          <span className="conversation-cache-size" data-testid="conversation-cache-size" title={cacheLabel.tooltip}
            data-conversation-id={conversation.id} data-bytes={storedCache.bytes} data-tokens={storedCache.tokens} data-formats={storedCache.encodings.join(' ')}>
            {cacheLabel.text}
          </span>
        )}
      </div>
      <span className="conversation-actions">
        <button type="button" className="quiet" title="Rename" aria-label="Rename" onClick={() => setDraft(conversation.title)}>✎</button>
        <button type="button" className="quiet" title="Delete" aria-label="Delete" disabled={busy} onClick={() => deleteConversation(conversation.id)}>✕</button>
      </span>
    </li>
  );
}
