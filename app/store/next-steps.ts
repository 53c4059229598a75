// What the error banner tells a person to do next, by error code. Engine errors keep their own message (it says
// what was wrong); this adds the step and, where the app can take it, the button that takes it.
import type { EngineErrorCode } from '../../engine/errors';

/** Engine codes plus the UI's own: a failed save to IndexedDB, a new app version that took over the page. */
export type BannerCode = EngineErrorCode | 'SAVE_FAILED' | 'APP_UPDATED';

/** A step the banner's button can take; the app wires each to an action. */
export type StepAction = 'reload-engine' | 'new-conversation' | 'pick-model' | 'retry-save' | 'reload-page';

export interface NextStep {
  text: string;
  action?: StepAction;
  actionLabel?: string;
}

const STEPS: Record<BannerCode, NextStep> = {
  NO_WEBGPU: { text: 'This browser cannot run the engine: use a browser with WebGPU turned on.' },
  ADAPTER_LIMITS: { text: 'This GPU cannot hold the model: pick a smaller model.', action: 'pick-model', actionLabel: 'Pick a model' },
  QUOTA: { text: 'The browser has no room left: free storage by deleting conversations or models, then try again.' },
  NETWORK: { text: 'Check the connection and load the model again; the download resumes where it stopped.', action: 'reload-engine', actionLabel: 'Load again' },
  INTEGRITY: { text: 'A model file is damaged: download or copy the model again, or pick another.', action: 'pick-model', actionLabel: 'Pick a model' },
  BAD_MANIFEST: { text: 'The model package is not readable: re-convert it with npm run convert, or pick another model.', action: 'pick-model', actionLabel: 'Pick a model' },
  BAD_CHECKPOINT: { text: 'The model package is not readable: re-convert it with npm run convert, or pick another model.', action: 'pick-model', actionLabel: 'Pick a model' },
  DEVICE_LOST: { text: 'Reload the engine; your conversations are kept.', action: 'reload-engine', actionLabel: 'Reload the engine' },
  CONTEXT_FULL: { text: 'This conversation fills the model\'s context: start a new conversation.', action: 'new-conversation', actionLabel: 'New conversation' },
  ABORTED: { text: 'The request was stopped.' },
  SAVE_FAILED: { text: 'Your conversations are not being saved: free browser storage (delete old conversations), then retry.', action: 'retry-save', actionLabel: 'Retry saving' },
  APP_UPDATED: { text: 'Reload the page to use it; your conversations and models are kept.', action: 'reload-page', actionLabel: 'Reload' },
};

export function nextStepFor(code: BannerCode): NextStep {
  return STEPS[code];
}
