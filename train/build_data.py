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
# --common N (issue 8, for answers about common words that read as sensible): WordNet training items only for the N
# most frequent lemmas (cntlist.rev counts; equal counts by number of senses), one answer per question over all parts
# of speech (the default has one per part of speech, so "What does "quick" mean?" had three different answers, the
# first of them the rare noun), senses in tag-count order: the meaning is the most frequent sense plus the next
# one, the sentence a gloss example containing the word, the synonyms those of the three most frequent senses without
# the word itself; prose: "lemma (pos): definition." for those lemmas' tagged senses (and each part of speech's
# first). All Jargon File and Devil's Dictionary items (questions twice, a headword with two entries keeps the first).
# Chat items of the most frequent lemmas repeat (--common-repeats, default 1000:4,3000:3,6000:2). The held-out set
# is the default one, byte for byte (same hash bucket, same items), so evaluate.py's 50 held-out prompts and
# greedy_refs stay comparable; held-out lemmas (e.g. "run") get no training items.
# --tokenizer DIR: token counts in stats.json (needs the tokenizers package) and DIR's tokenizer copied to
# OUT_DIR/tokenizer, where train.py takes it from. The issue 8 data (3.17 M training tokens, 88,489 items):
#   python3 train/build_data.py .train/data --common 10000 --tokenizer public/models/deepseek-v32-dictionary-chat
# Usage: python3 train/build_data.py OUT_DIR [--weighted | --common N [--common-repeats RANK:TIMES,...]] [--tokenizer DIR]
#   (writes train.jsonl.gz, heldout.jsonl.gz, stats.json; the default and --weighted outputs are unchanged)
import gzip, hashlib, json, os, re, sys

WORDNET = '/usr/share/wordnet'
DICTD = '/usr/share/dictd'
POS_NAMES = {'n': 'noun', 'v': 'verb', 'a': 'adjective', 's': 'adjective', 'r': 'adverb'}
B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'


REPEAT_BANDS = ((1500, 16), (5000, 6), (15000, 2))  # (lemmas up to this rank, times each chat item appears)
DICTIONARY_REPEATS = 4  # Jargon File and Devil's Dictionary questions: few thousand items each
# --common N: chat items of the lemmas up to this common rank appear this many times (prose once); Jargon File and
# Devil's Dictionary questions COMMON_DICTIONARY_REPEATS times. The default of --common-repeats.
COMMON_REPEATS = '1000:4,3000:3,6000:2'
COMMON_DICTIONARY_REPEATS = 2


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


def sense_counts():
    """{(lemma, pos file, sense number): tag count} from cntlist.rev (adjective satellites count as adjectives)."""
    counts = {}
    for line in open(os.path.join(WORDNET, 'cntlist.rev'), encoding='utf8'):
        key, sense_number, tag_count = line.split()
        lemma, _, lex_sense = key.partition('%')
        pos_file = {'1': 'noun', '2': 'verb', '3': 'adj', '4': 'adv', '5': 'adj'}[lex_sense[0]]
        counts[(lemma.replace('_', ' '), pos_file, int(sense_number))] = int(tag_count)
    return counts


def common_lemmas(n, senses_by_lemma):
    """The n most frequent lemmas (summed tag counts in cntlist.rev) that have WordNet chat items; lemmas with
    equal counts (thousands share a count of 2 or 3) go by their number of senses, a fair proxy for frequency,
    rather than the alphabet."""
    counts = {}
    for line in open(os.path.join(WORDNET, 'cntlist.rev'), encoding='utf8'):
        key, _, tag_count = line.split()
        lemma = key.split('%')[0].replace('_', ' ')
        counts[lemma] = counts.get(lemma, 0) + int(tag_count)
    ranked = sorted((lemma for lemma in counts if lemma in senses_by_lemma),
                    key=lambda lemma: (-counts[lemma], -len(senses_by_lemma[lemma]), lemma))
    return ranked[:n]


def common_records(n):
    """Chat items for the n most frequent lemmas, one answer per question (the default data has one per part of
    speech, e.g. three different answers to 'What does "quick" mean?'). All senses of a lemma, over its parts of
    speech, go in order of their tag counts (WordNet's index order within a part of speech is by frequency for 99.7%
    of the lemmas with two or more tagged senses; the counts settle the rest and order the parts of speech), then
    untagged senses in index order. Meaning: the two most frequent senses. Sentence: a gloss example that has the
    lemma as a whole word (one of five words or more preferred), else an inflected form. Synonyms: lemmas of the
    three most frequent senses, never the word itself. Prose: "lemma (pos): definition." for each of the lemma's
    senses that is tagged, and for the first sense of each part of speech."""
    counts = sense_counts()
    synsets, senses_by_lemma = {}, {}
    for pos_order, pos_file in enumerate(('noun', 'verb', 'adj', 'adv')):
        synsets[pos_file] = read_synsets(pos_file)
        for lemma, offsets in read_index(pos_file).items():
            if not re.fullmatch(r"[a-z][a-z' -]*", lemma):
                continue
            for number, offset in enumerate(offsets, 1):
                ss = synsets[pos_file][offset]
                if ss['def'].rstrip('.'):
                    senses_by_lemma.setdefault(lemma, []).append(
                        (counts.get((lemma, pos_file, number), 0), pos_order, number, ss))
    records = []
    for lemma in common_lemmas(n, senses_by_lemma):
        senses = sorted(senses_by_lemma[lemma], key=lambda s: (-s[0], s[1], s[2]))
        first = senses[0][3]
        article = lambda pos: 'an' if pos in ('adjective', 'adverb') else 'a'
        answer = f'As {article(first["pos"])} {first["pos"]}, "{lemma}" means {first["def"].rstrip(".")}.'
        if len(senses) > 1:
            second = senses[1][3]
            also = 'It can also mean' if second['pos'] == first['pos'] else f'As {article(second["pos"])} {second["pos"]}, it can also mean'
            answer += f' {also} {second["def"].rstrip(".")}.'
        out = [('What does "%s" mean?' % lemma, answer)]
        examples = [e for s in senses for e in s[3]['examples']]
        whole = re.compile(r"(?<![\w'-])%s(?![\w'-])" % re.escape(lemma), re.I)
        inflected = re.compile(r"(?<![\w'-])%s[a-z]*" % re.escape(lemma), re.I)
        sentence = next((e for e in examples if whole.search(e) and len(e.split()) >= 5), None) \
            or next((e for e in examples if whole.search(e)), None) or next((e for e in examples if inflected.search(e)), None)
        if sentence:
            sentence = sentence[0].upper() + sentence[1:]
            out.append(('Use "%s" in a sentence.' % lemma, sentence if sentence[-1] in '.!?' else sentence + '.'))
        synonyms = []
        for s in senses[:3]:
            synonyms += [w for w in s[3]['words'] if w.lower() != lemma and w.lower() not in (x.lower() for x in synonyms)]
        if synonyms:
            out.append(('Give synonyms for "%s".' % lemma, 'Synonyms for "%s": %s.' % (lemma, ', '.join(synonyms[:6]))))
        else:
            out.append(('Give synonyms for "%s".' % lemma, 'WordNet lists no synonyms for "%s".' % lemma))
        prose, seen_pos = [], set()
        for count, _, _, ss in senses:
            if count > 0 or ss['pos'] not in seen_pos:
                prose.append(f'{lemma} ({ss["pos"]}): {ss["def"].rstrip(".")}.')
            seen_pos.add(ss['pos'])
        records.append((lemma, out, prose))
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


def main(out_dir, weighted=False, common=None, common_repeats=COMMON_REPEATS, tokenizer=None):
    os.makedirs(out_dir, exist_ok=True)
    train, held = [], []
    def add(key, item, times=1):
        if held_out(key):
            held.append(item)
        else:
            train.extend([item] * times)
    ranks = lemma_ranks() if weighted else {}
    dictionary_repeats = DICTIONARY_REPEATS if weighted else COMMON_DICTIONARY_REPEATS if common else 1
    bands = [tuple(int(x) for x in band.split(':')) for band in common_repeats.split(',') if band] if common else []
    for lemma, pairs, gloss in wordnet_records():
        if common and not held_out(lemma):
            continue  # --common: the held-out set stays the default one; training items come from common_records
        for user, assistant in pairs:
            add(lemma, {'kind': 'chat', 'user': user, 'assistant': assistant, 'source': 'wordnet'}, repeats(ranks.get(lemma)))
        add(lemma, {'kind': 'text', 'text': gloss, 'source': 'wordnet'})
    if common:
        for rank, (lemma, pairs, prose) in enumerate(common_records(common)):
            if held_out(lemma):
                continue
            times = next((t for limit, t in bands if rank < limit), 1)
            train.extend({'kind': 'chat', 'user': user, 'assistant': assistant, 'source': 'wordnet'} for user, assistant in pairs for _ in range(times))
            train.extend({'kind': 'text', 'text': line, 'source': 'wordnet'} for line in prose)
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
    if common:  # a few Jargon/Devil headwords have two entries: one answer per question (the first)
        first = {}
        for item in train:
            if item['kind'] == 'chat':
                first.setdefault(item['user'], item['assistant'])
        train = [i for i in train if i['kind'] != 'chat' or first[i['user']] == i['assistant']]
    for name, items in (('train', train), ('heldout', held)):
        with gzip.GzipFile(os.path.join(out_dir, name + '.jsonl.gz'), 'wb', mtime=0) as f:
            for item in items:
                f.write((json.dumps(item, ensure_ascii=False) + '\n').encode())
    stats = {'repeat_bands': REPEAT_BANDS if weighted else [], 'dictionary_repeats': dictionary_repeats}
    stats.update({name: {'items': len(items), 'chars': sum(len(json.dumps(i)) for i in items),
                    'by_source': {s: sum(1 for i in items if i['source'] == s) for s in ('wordnet', 'jargon', 'devil')}}
             for name, items in (('train', train), ('heldout', held))})
    if common:
        stats.update({'common': common, 'common_repeat_bands': bands})
    if tokenizer:  # --tokenizer DIR: token counts with that tokenizer, which goes to OUT_DIR/tokenizer for train.py
        from tokenizers import Tokenizer
        from common import render
        os.makedirs(os.path.join(out_dir, 'tokenizer'), exist_ok=True)
        for f in ('tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'):
            open(os.path.join(out_dir, 'tokenizer', f), 'wb').write(open(os.path.join(tokenizer, f), 'rb').read())
        tok = Tokenizer.from_file(os.path.join(tokenizer, 'tokenizer.json'))
        for name, items in (('train', train), ('heldout', held)):
            lengths = [len(e.ids) for e in tok.encode_batch([render(i) for i in items], add_special_tokens=False)]
            by = {}
            for item, n in zip(items, lengths):
                key = item['source'] + ('_chat' if item['kind'] == 'chat' else '_text')
                by[key] = by.get(key, 0) + n
            stats[name]['tokens'] = sum(lengths)
            stats[name]['tokens_by_kind'] = by
    json.dump(stats, open(os.path.join(out_dir, 'stats.json'), 'w'), indent=1)
    print(json.dumps(stats))


if __name__ == '__main__':
    import argparse
    parser = argparse.ArgumentParser()
    parser.add_argument('out_dir')
    parser.add_argument('--weighted', action='store_true', help='frequency-weighted repetition (run 3)')
    parser.add_argument('--common', type=int, metavar='N', help='WordNet training items only for the N most frequent lemmas')
    parser.add_argument('--common-repeats', default=COMMON_REPEATS, metavar='RANK:TIMES,...',
                        help='with --common: how often the chat items of the lemmas below each common rank appear ("" for once)')
    parser.add_argument('--tokenizer', metavar='DIR', help='count tokens with this tokenizer and copy it to OUT_DIR/tokenizer')
    args = parser.parse_args()
    if args.weighted and args.common:
        parser.error('--weighted and --common do not combine (--common has its own --common-repeats)')
    main(args.out_dir, weighted=args.weighted, common=args.common, common_repeats=args.common_repeats, tokenizer=args.tokenizer)
