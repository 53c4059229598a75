// One message. User messages show as typed (plain text) with Edit (change it and continue from there, dropping
// the later messages); assistant messages render as safe Markdown, with a note when cut short and, on the last
// one, Regenerate.
import { memo, useState } from 'react';
import { editAndContinue, regenerateLastAnswer } from '../chat-actions';
import { Markdown } from '../markdown/render';
import type { ChatMessage } from '../store/types';

const FINISH_NOTES: Record<NonNullable<ChatMessage['finish']>, string> = {
  stop: '',
  abort: 'Stopped.',
  length: 'Reached the max new tokens setting.',
  context: 'The context is full.',
  error: 'Interrupted by an engine error.',
};

interface Props {
  conversationId: string;
  message: ChatMessage;
  isLast: boolean;
  canAct: boolean; // a model is ready and nothing is generating
}

/** Memoised: a stored message re-renders (and re-parses its Markdown) only when it changes, not on every streamed frame. */
export const MessageView = memo(function MessageView({ conversationId, message, isLast, canAct }: Props) {
  const [draft, setDraft] = useState<string | null>(null);
  if (message.role === 'user') {
    if (draft !== null) {
      const submit = () => { const text = draft; setDraft(null); void editAndContinue(conversationId, message.id, text); };
      return (
        <div className="message message-user editing" data-testid="message-user">
          <textarea aria-label="Edit message" value={draft} autoFocus onChange={(e) => setDraft(e.target.value)}
            onKeyDown={(e) => { if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) { e.preventDefault(); submit(); } if (e.key === 'Escape') setDraft(null); }} />
          <div className="message-actions">
            <button type="button" disabled={!canAct || !draft.trim()} onClick={submit}>Save and continue</button>
            <button type="button" className="quiet" onClick={() => setDraft(null)}>Cancel</button>
          </div>
        </div>
      );
    }
    return (
      <div className="message message-user" data-testid="message-user">
        <div className="message-text">{message.content}</div>
        <div className="message-actions">
          <button type="button" className="quiet" disabled={!canAct} onClick={() => setDraft(message.content)}>Edit</button>
        </div>
      </div>
    );
  }
  const note = message.finish ? FINISH_NOTES[message.finish] : '';
  return (
    <div className="message message-assistant" data-testid="message-assistant">
      <Markdown source={message.content} />
      {note && <p className="message-note">{note}</p>}
      {message.restoredTokens !== undefined && (
        <p className="message-note restored-mark" data-testid="restored-mark">
          Restored from cache: {message.restoredTokens} tokens not prefilled again
        </p>
      )}
      {isLast && (
        <div className="message-actions">
          <button type="button" className="quiet" disabled={!canAct} data-testid="regenerate-button" onClick={() => void regenerateLastAnswer(conversationId)}>
            Regenerate
          </button>
        </div>
      )}
    </div>
  );
});
