# Builds the training and held-out sets of the bundled chat model from Debian dictionary packages (stdlib only,
# deterministic): WordNet 3.0 (package wordnet-base, WordNet licence: permissive), the Jargon File (dict-jargon,
# public domain) and the Devil's Dictionary (dict-devil, public domain). GCIDE (GPL) and FOLDOC (GFDL) are left
# out so that the shipped weights carry no copyleft terms. Chat pairs: what a word means, a sentence using it,
# its synonyms, what a computing term is; plain prose (Jargon and Devil entries, WordNet glosses) for fluency.
# A word/term is held out when a hash of it falls in the held-out bucket (all its prompts go together).
# Common words are repeated: a small model can only learn what it sees often, and users ask about common words.
# A lemma's frequency is the sum of its senses' tag counts in WordNet's semantic concordance (cntlist.rev);
# its chat items appear REPEATS[k] times for the k-th frequency band (the held-out split is never repeated).
# Repetition is on with --weighted (run 3, train/references/*_run3.json); without it the data is the one the shipped
# model (runs 1 and 2) was trained on.
# Usage: python3 train/build_data.py OUT_DIR [--weighted]   (writes train.jsonl.gz, heldout.jsonl.gz, stats.json)
import gzip, hashlib, json, os, re, sys

WORDNET = '/usr/share/wordnet'
DICTD = '/usr/share/dictd'
POS_NAMES = {'n': 'noun', 'v': 'verb', 'a': 'adjective', 's': 'adjective', 'r': 'adverb'}
B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'


REPEAT_BANDS = ((1500, 16), (5000, 6), (15000, 2))  # (lemmas up to this rank, times each chat item appears)
DICTIONARY_REPEATS = 4  # Jargon File and Devil's Dictionary questions: few thousand items each


def lemma_ranks():
    counts = {}
    for line in open(os.path.join(WORDNET, 'cntlist.rev'), encoding='utf8'):
        key, _, tag_count = line.split()
        lemma = key.split('%')[0].replace('_', ' ')
        counts[lemma] = counts.get(lemma, 0) + int(tag_count)
    ranked = sorted(counts, key=lambda lemma: (-counts[lemma], lemma))
    return {lemma: rank for rank, lemma in enumerate(ranked)}


def repeats(rank):
    return next((times for limit, times in REPEAT_BANDS if rank is not None and rank < limit), 1)


def held_out(key):
    return int(hashlib.sha256(key.lower().encode()).hexdigest()[:8], 16) % 100 < 2


def read_synsets(pos_file):
    synsets = {}
    for line in open(os.path.join(WORDNET, 'data.' + pos_file), encoding='utf8', errors='replace'):
        if line.startswith('  '):
            continue
        head, _, gloss = line.partition(' | ')
        fields = head.split()
        offset, ss_type, count = fields[0], fields[2], int(fields[3], 16)
        words = [fields[4 + 2 * i].replace('_', ' ') for i in range(count)]
        words = [re.sub(r'\([a-z]+\)$', '', w) for w in words]
        parts = [p.strip() for p in gloss.strip().split(';')]
        definition = '; '.join(p for p in parts if not p.startswith('"'))
        examples = [p.strip('"') for p in re.findall(r'"[^"]+"', gloss)]
        synsets[offset] = {'pos': POS_NAMES[ss_type], 'words': words, 'def': definition, 'examples': examples}
    return synsets


def read_index(pos_file):
    senses = {}
    for line in open(os.path.join(WORDNET, 'index.' + pos_file), encoding='utf8', errors='replace'):
        if line.startswith('  '):
            continue
        fields = line.split()
        lemma, synset_cnt, p_cnt = fields[0].replace('_', ' '), int(fields[2]), int(fields[3])
        senses[lemma] = fields[6 + p_cnt:6 + p_cnt + synset_cnt]
    return senses


def wordnet_records():
    records = []
    for pos_file in ('noun', 'verb', 'adj', 'adv'):
        synsets = read_synsets(pos_file)
        for lemma, offsets in read_index(pos_file).items():
            if not re.fullmatch(r"[a-z][a-z' -]*", lemma):
                continue  # proper names, numbers, odd strings
            first = synsets[offsets[0]]
            definition = first['def'].rstrip('.')
            if not definition:
                continue
            answer = f'As {"an" if first["pos"] == "adjective" or first["pos"] == "adverb" else "a"} {first["pos"]}, "{lemma}" means {definition}.'
            if len(offsets) > 1 and synsets[offsets[1]]['def']:
                answer += f' It can also mean {synsets[offsets[1]]["def"].rstrip(".")}.'
            out = [('What does "%s" mean?' % lemma, answer)]
            sentence = next((e for o in offsets for e in synsets[o]['examples'] if lemma in e.lower()), None)
            if sentence:
                sentence = sentence[0].upper() + sentence[1:]
                out.append(('Use "%s" in a sentence.' % lemma, sentence if sentence[-1] in '.!?' else sentence + '.'))
            synonyms = []
            for o in offsets[:3]:
                synonyms += [w for w in synsets[o]['words'] if w.lower() != lemma and w not in synonyms]
            if synonyms:
                out.append(('Give synonyms for "%s".' % lemma, 'Synonyms for "%s": %s.' % (lemma, ', '.join(synonyms[:6]))))
            else:
                out.append(('Give synonyms for "%s".' % lemma, 'WordNet lists no synonyms for "%s".' % lemma))
            records.append((lemma, out, f'{lemma} ({first["pos"]}): {definition}.'))
    return records


def dictd_entries(name, keep_first_line=False):
    text = gzip.open(os.path.join(DICTD, name + '.dict.dz')).read()
    def num(s):
        v = 0
        for ch in s:
            v = v * 64 + B64.index(ch)
        return v
    for line in open(os.path.join(DICTD, name + '.index'), encoding='utf8'):
        word, off, length = line.rstrip('\n').split('\t')
        if word.startswith('00-database') or word.startswith('00database'):
            continue
        body = text[num(off):num(off) + num(length)].decode('utf8', 'replace')
        lines = body.split('\n')
        if keep_first_line:  # "EMBALM, v.i.  To cheat vegetation ...": the headword and part of speech go
            lines[0] = re.sub(r'^[^,]*,\s*([a-z]+\.\s*)*', '', lines[0].strip())
        else:
            lines = lines[1:]  # the headword line
        paragraphs, current = [], []
        for ln in lines:
            if ln.strip():
                current.append(ln.strip())
            elif current:
                paragraphs.append(' '.join(current))
                current = []
        if current:
            paragraphs.append(' '.join(current))
        paragraphs = [re.sub(r'\s*\{\s*([^}]*?)\s*\}', r' \1', p).strip() for p in paragraphs]
        paragraphs = [p for p in paragraphs if p and not re.fullmatch(r'[a-z. ,]+\.', p)]  # "n." pos lines
        if paragraphs:
            yield word, paragraphs


def is_label(paragraph):
    """Jargon/Devil lines that are no prose: pronunciations ("/hak'r/, n."), parts of speech, bare labels."""
    return paragraph.startswith('/') or re.fullmatch(r'\d+\.|\[[^\]]*\]', paragraph) is not None or len(paragraph) < 25 and not paragraph.rstrip().endswith(('.', '!', '?')) \
        or re.fullmatch(r"[a-z. ,&]+\.?", paragraph) is not None


def first_sentences(text, limit=240):
    sentences = re.split(r'(?<=[.!?])\s+', text)
    out = ''
    for s in sentences:
        if out and len(out) + len(s) > limit:
            break
        out = (out + ' ' + s).strip()
    return out


def main(out_dir, weighted=False):
    os.makedirs(out_dir, exist_ok=True)
    train, held = [], []
    def add(key, item, times=1):
        if held_out(key):
            held.append(item)
        else:
            train.extend([item] * times)
    ranks = lemma_ranks() if weighted else {}
    dictionary_repeats = DICTIONARY_REPEATS if weighted else 1
    for lemma, pairs, gloss in wordnet_records():
        for user, assistant in pairs:
            add(lemma, {'kind': 'chat', 'user': user, 'assistant': assistant, 'source': 'wordnet'}, repeats(ranks.get(lemma)))
        add(lemma, {'kind': 'text', 'text': gloss, 'source': 'wordnet'})
    for word, paragraphs in dictd_entries('jargon'):
        prose = [p for p in paragraphs if not is_label(p)]
        if not prose:
            continue
        add(word, {'kind': 'chat', 'user': 'What is "%s"?' % word, 'assistant': '"%s" is a computing term: %s' % (word, first_sentences(re.sub(r'^\d+\.\s*', '', prose[0]))), 'source': 'jargon'}, dictionary_repeats)
        add(word, {'kind': 'text', 'text': '%s\n\n%s' % (word, '\n\n'.join(paragraphs)), 'source': 'jargon'})
    for word, paragraphs in dictd_entries('devil', keep_first_line=True):
        word = word.lower()
        prose = [p for p in paragraphs if not is_label(p)]
        if not prose:
            continue
        add(word, {'kind': 'chat', 'user': 'What does the Devil\'s Dictionary say about "%s"?' % word, 'assistant': first_sentences(prose[0]), 'source': 'devil'}, dictionary_repeats)
        add(word, {'kind': 'text', 'text': '%s\n\n%s' % (word.upper(), '\n\n'.join(paragraphs)), 'source': 'devil'})
    for name, items in (('train', train), ('heldout', held)):
        with gzip.GzipFile(os.path.join(out_dir, name + '.jsonl.gz'), 'wb', mtime=0) as f:
            for item in items:
                f.write((json.dumps(item, ensure_ascii=False) + '\n').encode())
    stats = {'repeat_bands': REPEAT_BANDS if weighted else [], 'dictionary_repeats': dictionary_repeats}
    stats.update({name: {'items': len(items), 'chars': sum(len(json.dumps(i)) for i in items),
                    'by_source': {s: sum(1 for i in items if i['source'] == s) for s in ('wordnet', 'jargon', 'devil')}}
             for name, items in (('train', train), ('heldout', held))})
    json.dump(stats, open(os.path.join(out_dir, 'stats.json'), 'w'), indent=1)
    print(json.dumps(stats))


if __name__ == '__main__':
    main(sys.argv[1], weighted='--weighted' in sys.argv[2:])
