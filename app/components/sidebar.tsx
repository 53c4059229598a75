// The conversation list, newest first, under the New conversation button.
import { useAppStore } from '../store';
import { ConversationItem } from './conversation-item';

export function Sidebar() {
  const conversations = useAppStore((s) => s.conversations);
  const currentId = useAppStore((s) => s.currentConversationId);
  const newConversation = useAppStore((s) => s.newConversation);
  return (
    <nav className="sidebar" aria-label="Conversations">
      <button type="button" className="new-conversation" data-testid="new-conversation" onClick={() => newConversation()}>
        + New conversation
      </button>
      <ul className="conversation-list">
        {conversations.map((c) => <ConversationItem key={c.id} conversation={c} selected={c.id === currentId} />)}
      </ul>
      {conversations.length === 0 && <p className="sidebar-empty">No conversations yet.</p>}
    </nav>
  );
}
