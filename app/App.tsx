// The app: the no-WebGPU page when the browser cannot run the engine; otherwise the conversation list, the chat
// (model picker, attention mode, error banner, messages, composer) and a side panel with settings and performance.
import { useEffect, useState } from 'react';
import type { AppPhase } from './boot';
import { boot } from './boot';
import { AttentionToggle } from './components/attention-toggle';
import { ChatView } from './components/chat-view';
import { Composer } from './components/composer';
import { ErrorBanner } from './components/error-banner';
import { ModelPicker } from './components/model-picker';
import { ModelSources } from './components/model-sources';
import { NoWebGpu } from './components/no-webgpu';
import { PerfPanel } from './components/perf-panel';
import { SettingsPanel } from './components/settings-panel';
import { Sidebar } from './components/sidebar';

export function App() {
  const [phase, setPhase] = useState<AppPhase>('checking');
  const [sidePanelOpen, setSidePanelOpen] = useState(true);
  useEffect(() => {
    void boot().then(setPhase);
  }, []);

  if (phase === 'checking') return <main className="starting"><p>Starting…</p></main>;
  if (phase !== 'running') return <NoWebGpu reason={phase} />;
  return (
    <div className={`app${sidePanelOpen ? ' with-side-panel' : ''}`}>
      <Sidebar />
      <main className="chat">
        <header className="chat-header">
          <ModelPicker />
          <AttentionToggle />
          <button type="button" className="quiet side-panel-toggle" aria-expanded={sidePanelOpen} data-testid="side-panel-toggle"
            onClick={() => setSidePanelOpen(!sidePanelOpen)}>
            {sidePanelOpen ? 'Hide panel' : 'Settings & performance'}
          </button>
        </header>
        <ErrorBanner />
        <ChatView />
        <Composer />
      </main>
      {sidePanelOpen && (
        <aside className="side-panel">
          <PerfPanel />
          <SettingsPanel />
          <ModelSources />
        </aside>
      )}
    </div>
  );
}
