// The conversation list, newest first, under the New conversation button, and whether it is saved yet.
import { useAppStore } from '../store';
import { ConversationItem } from './conversation-item';

const SAVE_TEXT = {
  saved: 'Saved in this browser',
  pending: 'Saving…',
  failed: 'Not saved: see the message above',
  off: 'Not saving this session',
} as const;

export function Sidebar() {
  const conversations = useAppStore((s) => s.conversations);
  const currentId = useAppStore((s) => s.currentConversationId);
  const newConversation = useAppStore((s) => s.newConversation);
  const saveState = useAppStore((s) => s.saveState);
  return (
    <nav className="sidebar" aria-label="Conversations">
      <button type="button" className="new-conversation" data-testid="new-conversation" onClick={() => newConversation()}>
        + New conversation
      </button>
      <ul className="conversation-list">
        {conversations.map((c) => <ConversationItem key={c.id} conversation={c} selected={c.id === currentId} />)}
      </ul>
      {conversations.length === 0 && <p className="sidebar-empty">No conversations yet.</p>}
      <p className={`save-status save-${saveState}`} data-testid="save-status" data-state={saveState}>
        {SAVE_TEXT[saveState]}
      </p>
    </nav>
  );
}
