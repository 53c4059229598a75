# Trains the byte-level BPE tokenizer (VOCAB_SIZE ids, the four DeepSeek chat markers first) on the training
# items and writes tokenizer.json, tokenizer_config.json (with the chat template) and special_tokens_map.json.
import json, os
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from common import BOS, CHAT_TEMPLATE, EOS, MAX_POSITIONS, SPECIAL_TOKENS, VOCAB_SIZE


def train_tokenizer(texts, out_dir):
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, special_tokens=SPECIAL_TOKENS, min_frequency=2,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tokenizer.train_from_iterator(texts, trainer=trainer)
    os.makedirs(out_dir, exist_ok=True)
    tokenizer.save(os.path.join(out_dir, 'tokenizer.json'))
    config = {
        'tokenizer_class': 'PreTrainedTokenizerFast', 'add_bos_token': False, 'add_eos_token': False,
        'bos_token': BOS, 'eos_token': EOS, 'pad_token': EOS, 'unk_token': None,
        'clean_up_tokenization_spaces': False, 'model_max_length': MAX_POSITIONS, 'chat_template': CHAT_TEMPLATE,
    }
    json.dump(config, open(os.path.join(out_dir, 'tokenizer_config.json'), 'w'), ensure_ascii=False, indent=1)
    json.dump({'bos_token': BOS, 'eos_token': EOS, 'pad_token': EOS},
              open(os.path.join(out_dir, 'special_tokens_map.json'), 'w'), ensure_ascii=False, indent=1)
    return tokenizer
