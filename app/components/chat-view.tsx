// The conversation in view: its messages, the answer streaming in (live Markdown), and a Regenerate button when
// the conversation ends with an unanswered question (a failed or interrupted answer). Follows the newest text
// while the reader is at the bottom, and leaves the scroll alone once they scroll up.
import { useEffect, useRef } from 'react';
import { regenerateLastAnswer } from '../chat-actions';
import { Markdown } from '../markdown/render';
import { selectCurrentConversation, useAppStore } from '../store';
import { MessageView } from './message-view';

export function ChatView() {
  const conversation = useAppStore(selectCurrentConversation);
  const generatingHere = useAppStore((s) => s.generatingIn !== null && s.generatingIn === s.currentConversationId);
  const streamingText = useAppStore((s) => s.streamingText);
  const canAct = useAppStore((s) => s.generatingIn === null && s.modelStatus === 'ready');
  const scroller = useRef<HTMLDivElement>(null);
  const pinned = useRef(true);

  useEffect(() => {
    const element = scroller.current;
    if (element && pinned.current) element.scrollTop = element.scrollHeight;
  }, [conversation?.messages.length, streamingText, conversation?.id]);

  const onScroll = () => {
    const element = scroller.current;
    if (element) pinned.current = element.scrollHeight - element.scrollTop - element.clientHeight < 48;
  };

  const messages = conversation?.messages ?? [];
  const unanswered = !generatingHere && messages.at(-1)?.role === 'user';
  return (
    <div className="chat-view" ref={scroller} onScroll={onScroll}>
      {messages.length === 0 && !generatingHere && (
        <div className="chat-empty">
          <h2>DeepSeek on WebGPU</h2>
          <p>Everything runs on your GPU in this tab. Ask something to start.</p>
        </div>
      )}
      {conversation && messages.map((m, index) => (
        <MessageView key={m.id} conversationId={conversation.id} message={m} isLast={index === messages.length - 1} canAct={canAct} />
      ))}
      {generatingHere && (
        <div className="message message-assistant streaming" data-testid="message-assistant" aria-live="polite" aria-busy="true">
          <Markdown source={streamingText} />
        </div>
      )}
      {conversation && unanswered && (
        <div className="message-actions unanswered">
          <button type="button" disabled={!canAct} data-testid="regenerate-button" onClick={() => void regenerateLastAnswer(conversation.id)}>Answer again</button>
        </div>
      )}
    </div>
  );
}
