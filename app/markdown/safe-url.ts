// Link targets allowed in rendered model output: http(s) and mailto only. Anything else (javascript:, data:,
// vbscript:, relative paths) is refused and the link renders as its source text. Browsers ignore tabs, newlines
// and leading control characters inside a scheme ("java\tscript:"), so those are removed before the check.
const ALLOWED = /^(https?:\/\/|mailto:)/i;

export function safeHref(url: string): string | null {
  // eslint-disable-next-line no-control-regex
  const cleaned = url.replace(/[\u0000-\u0020\u007f]/g, '');
  if (!ALLOWED.test(cleaned)) return null;
  try {
    const parsed = new URL(cleaned);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:' && parsed.protocol !== 'mailto:') return null;
    return parsed.href;
  } catch {
    return null;
  }
}
