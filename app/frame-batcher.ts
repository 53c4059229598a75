// Streamed text reaches the store at most once per animation frame: deltas arriving between two frames are joined
// and applied together, so a fast model does not re-render the chat once per token. `flush` applies what is left
// at once (the answer's end), so no text is lost when frames stop (a hidden tab).
export type FrameScheduler = {
  request: (callback: () => void) => number;
  cancel: (handle: number) => void;
};

const animationFrames: FrameScheduler = {
  request: (callback) => requestAnimationFrame(() => callback()),
  cancel: (handle) => cancelAnimationFrame(handle),
};

export interface FrameBatcher {
  push: (delta: string) => void;
  flush: () => void;
}

export function createFrameBatcher(apply: (text: string) => void, frames: FrameScheduler = animationFrames): FrameBatcher {
  let pending = '';
  let handle: number | null = null;
  const flush = () => {
    if (handle !== null) frames.cancel(handle);
    handle = null;
    if (pending === '') return;
    const text = pending;
    pending = '';
    apply(text);
  };
  return {
    push: (delta) => {
      if (delta === '') return;
      pending += delta;
      if (handle === null) handle = frames.request(flush);
    },
    flush,
  };
}
