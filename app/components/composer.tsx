// The message box: Enter sends, Shift+Enter adds a line (IME composition is left alone); disabled until a model
// is ready. While an answer streams, Stop replaces Send.
import { useEffect, useRef, useState } from 'react';
import { sendMessage, stopGenerating } from '../chat-actions';
import { useAppStore } from '../store';

export function Composer() {
  const [text, setText] = useState('');
  const modelStatus = useAppStore((s) => s.modelStatus);
  const ready = modelStatus === 'ready';
  const generating = useAppStore((s) => s.generatingIn !== null);
  const canSend = ready && !generating && text.trim() !== '';
  const input = useRef<HTMLTextAreaElement>(null);
  useEffect(() => { if (ready) input.current?.focus(); }, [ready]);

  const send = () => {
    if (!canSend) return;
    const message = text;
    setText('');
    void sendMessage(message);
  };

  return (
    <form className="composer" onSubmit={(e) => { e.preventDefault(); send(); }}>
      <textarea
        ref={input}
        data-testid="chat-input"
        aria-label="Message"
        placeholder={ready ? 'Message the model (Enter sends, Shift+Enter for a new line)'
          : modelStatus === 'failed' || modelStatus === 'none' ? 'No model is loaded: see the message above' : 'Waiting for the model to load…'}
        value={text}
        disabled={!ready}
        rows={3}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
            e.preventDefault();
            send();
          }
        }}
      />
      {generating ? (
        <button type="button" className="stop" data-testid="stop-button" onClick={stopGenerating}>Stop</button>
      ) : (
        <button type="submit" className="send" data-testid="send-button" disabled={!canSend}>Send</button>
      )}
    </form>
  );
}
