// The error banner: the engine's message (what was wrong), the next step for its code, and a button that takes
// the step where the app can (reload the engine, new conversation, pick a model, retry saving).
import { runStepAction } from '../boot';
import { useAppStore } from '../store';

export function ErrorBanner() {
  const banner = useAppStore((s) => s.banner);
  const dismissError = useAppStore((s) => s.dismissError);
  if (!banner) return null;
  const { step } = banner;
  return (
    <div className="error-banner" role="alert" data-testid="error-banner" data-code={banner.code}>
      <div className="error-banner-text">
        <p className="error-banner-message">{banner.message}</p>
        <p className="error-banner-step">{step.text}</p>
      </div>
      <div className="error-banner-actions">
        {step.action && (
          <button type="button" onClick={() => runStepAction(step.action!)}>{step.actionLabel}</button>
        )}
        <button type="button" className="quiet" aria-label="Dismiss" onClick={() => dismissError()}>×</button>
      </div>
    </div>
  );
}
