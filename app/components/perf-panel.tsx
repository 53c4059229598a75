// Performance of the last answer in this conversation: prefill and decode tokens/s, time to first token, tokens
// in context (and how many came from the latent cache), the latent KV cache's bytes next to what full per-head K/V
// would take for the same tokens, the conversation's latent cache as stored in the browser (the engine's figures
// the store holds, read after each answer: app/kv-cache-actions.ts), and the decode-time chart over the whole
// conversation.
import type { ChatStats } from '../../engine/worker/protocol';
import { useAppStore } from '../store';
import type { DecodeSeries } from '../store/generation-slice';
import { DecodeChart } from './decode-chart';

const EMPTY_SERIES: DecodeSeries = { sparse: [], dense: [] };

function formatBytes(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
  if (bytes >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(2)} MiB`;
  if (bytes >= 2 ** 10) return `${(bytes / 2 ** 10).toFixed(1)} KiB`;
  return `${bytes} B`;
}

function Stat({ label, testId, value }: { label: string; testId?: string; value: string }) {
  return (
    <div className="stat">
      <dt>{label}</dt>
      <dd data-testid={testId}>{value}</dd>
    </div>
  );
}

function statValues(stats: ChatStats | undefined) {
  const dash = '—';
  if (!stats) return { prefillTps: dash, decodeTps: dash, ttft: dash, context: dash, prefilled: dash, reused: dash, generated: dash };
  return {
    prefillTps: stats.prefillTokensPerSecond.toFixed(1),
    decodeTps: stats.decodeTokensPerSecond.toFixed(1),
    ttft: stats.timeToFirstTokenMs.toFixed(0),
    context: String(stats.contextTokens),
    prefilled: String(stats.prefillTokens),
    reused: String(stats.reusedTokens),
    generated: String(stats.generatedTokens),
  };
}

export function PerfPanel() {
  const stats = useAppStore((s) => (s.currentConversationId ? s.lastStats[s.currentConversationId] : undefined));
  const series = useAppStore((s) => (s.currentConversationId ? s.decodeSeries[s.currentConversationId] : undefined)) ?? EMPTY_SERIES;
  const adapter = useAppStore((s) => s.loadedModel?.adapter ?? s.adapter);
  const v = statValues(stats);
  const storedBytes = useAppStore((s) => (s.currentConversationId ? s.storedCaches[s.currentConversationId]?.bytes : undefined));
  const ratio = stats && stats.latentKvBytes > 0 ? stats.fullKvBytes / stats.latentKvBytes : 0;
  return (
    <section className="panel perf-panel" aria-label="Performance">
      <h2>Performance{stats && <span className="perf-mode"> · {stats.attention}</span>}</h2>
      <dl className="stats">
        <Stat label="Prefill tokens/s" testId="stat-prefill-tps" value={v.prefillTps} />
        <Stat label="Decode tokens/s" testId="stat-decode-tps" value={v.decodeTps} />
        <Stat label="Time to first token (ms)" value={v.ttft} />
        <Stat label="Tokens in context" testId="stat-context-tokens" value={v.context} />
        <Stat label="Prefilled this answer" testId="stat-prefill-tokens" value={v.prefilled} />
        <Stat label="From latent cache" value={v.reused} />
        <Stat label="Restored from stored cache" testId="stat-restored-tokens" value={stats ? String(stats.restoredTokens ?? 0) : '—'} />
        <Stat label="Generated" value={v.generated} />
        <Stat label="Stored cache (this conversation)" testId="stat-stored-cache" value={storedBytes ? formatBytes(storedBytes) : '—'} />
        {stats && <Stat label="Dispatches / token" value={stats.dispatchesPerToken.toFixed(0)} />}
      </dl>
      {stats && (
        <div className="kv-compare">
          <div>Latent KV cache: <strong>{formatBytes(stats.latentKvBytes)}</strong></div>
          <div>Full per-head K/V: <strong>{formatBytes(stats.fullKvBytes)}</strong>{ratio > 0 && <> ({ratio.toFixed(1)}× larger)</>}</div>
          <div className="kv-bars" aria-hidden="true">
            <span className="kv-bar latent" style={{ width: `${ratio > 0 ? Math.max(1, 100 / ratio) : 0}%` }} />
            <span className="kv-bar full" style={{ width: '100%' }} />
          </div>
        </div>
      )}
      <h3>Decode time per token</h3>
      <DecodeChart series={series} />
      {adapter && <p className="adapter">GPU: {adapter.adapter || 'unnamed adapter'}{adapter.cpu ? ' (software)' : ''}</p>}
    </section>
  );
}
