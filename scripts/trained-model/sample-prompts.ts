// The model card's ten sample prompts, in the card's order: engine-samples.ts (the engine in Node) and
// app-samples.ts (the built app in Chromium) both answer exactly these.
export const SAMPLE_PROMPTS: readonly string[] = [
  'What does "house" mean?', 'What does "happy" mean?', 'Use "river" in a sentence.', 'Give synonyms for "big".',
  'What is "hacker"?', 'What does "water" mean?', 'Give synonyms for "quick".', 'Use "music" in a sentence.',
  'What is "bug"?', 'What does the Devil\'s Dictionary say about "lawyer"?',
];
