//! Tokenizers, through Hugging Face's own `tokenizers` crate (the reference
//! implementation that the Python package wraps), so a checkpoint loaded with
//! `--model` tokenizes exactly as it does in `transformers`: GPT-2's
//! pre-tokenizer regex (with its `\p{L}` and `\p{N}` classes, run by
//! Oniguruma as in the Python wheels), byte-level BPE merges, added tokens.
//!
//! The arithmetic task's own tokenizer is a byte-level BPE with one token per
//! character and no merges, built here and written as a `tokenizer.json` that
//! `transformers` loads.
//!
//! Ids are `i64` on this side, as tensors want them.

use anyhow::{anyhow, bail, Context, Result};
use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use tokenizers::models::bpe::{Vocab, BPE};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::{AddedToken, Tokenizer as HfTokenizer};

/// A Hugging Face tokenizer.
#[derive(Debug, Clone)]
pub struct Tokenizer {
    inner: HfTokenizer,
}

/// GPT-2's `bytes_to_unicode` for one ASCII byte: printable bytes stand for
/// themselves, the others for code points from 256 up, in byte order.
fn byte_char(b: u8) -> char {
    let printable = |b: u8| (b'!'..=b'~').contains(&b) || (0xA1..=0xAC).contains(&b) || (0xAE..=0xFF).contains(&b);
    if printable(b) {
        return b as char;
    }
    let rank = (0..b).filter(|&x| !printable(x)).count() as u32;
    char::from_u32(256 + rank).unwrap_or('\u{FFFD}')
}

fn to_u32(ids: &[i64]) -> Vec<u32> {
    // An id no u32 can hold is no token: it decodes to nothing, as an unknown id does.
    ids.iter().filter_map(|&i| u32::try_from(i).ok()).collect()
}

impl Tokenizer {
    /// A byte-level BPE (GPT-2's pre-tokenizer and decoder) from its
    /// vocabulary, ranked merges and added special tokens.
    pub fn new(
        mut vocab: HashMap<String, i64>,
        merges: Vec<(String, String)>,
        added: Vec<(String, i64)>,
    ) -> Result<Self> {
        // An added token in the model's vocabulary keeps its id there (as in
        // GPT-2's own file, where `<|endoftext|>` is both).
        for (content, id) in &added {
            if vocab.get(content).is_some_and(|v| v != id) {
                bail!("tokenizer: special token {content:?} has id {id} and vocabulary id {}", vocab[content]);
            }
            vocab.insert(content.clone(), *id);
        }
        let mut ids: Vec<i64> = vocab.values().copied().collect();
        ids.sort_unstable();
        if ids.windows(2).any(|w| w[0] == w[1]) {
            bail!("tokenizer: two tokens share an id");
        }
        let vocab: Vocab = vocab
            .into_iter()
            .map(|(t, i)| Ok((t, u32::try_from(i).map_err(|_| anyhow!("tokenizer: id {i} is not a u32"))?)))
            .collect::<Result<_>>()?;
        let bpe = BPE::builder().vocab_and_merges(vocab, merges).build().map_err(|e| anyhow!("tokenizer: {e}"))?;
        let mut inner = HfTokenizer::new(bpe);
        let byte_level = ByteLevel::default().add_prefix_space(false);
        inner.with_pre_tokenizer(Some(byte_level)).with_decoder(Some(byte_level));
        for (content, id) in added {
            inner
                .add_special_tokens([AddedToken::from(content.clone(), true)])
                .map_err(|e| anyhow!("tokenizer: {e}"))?;
            let got = inner.token_to_id(&content).map(i64::from);
            if got != Some(id) {
                bail!("tokenizer: special token {content:?} wants id {id}, the vocabulary gives it {got:?}");
            }
        }
        Ok(Tokenizer { inner })
    }

    /// One token per character of `alphabet` (ids in order), no merges: the
    /// tokenizer of a model trained from scratch on a small alphabet.
    pub fn chars(alphabet: &str) -> Result<Self> {
        let mut vocab = HashMap::new();
        for c in alphabet.chars() {
            if !c.is_ascii() {
                bail!("tokenizer: character alphabets are ASCII, got {c:?}");
            }
            let id = vocab.len() as i64;
            vocab.entry(byte_char(c as u8).to_string()).or_insert(id);
        }
        Tokenizer::new(vocab, vec![], vec![])
    }

    /// Reads a Hugging Face `tokenizer.json`.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let inner =
            HfTokenizer::from_str(&text).map_err(|e| anyhow!("{}: not a tokenizer.json: {e}", path.display()))?;
        Ok(Tokenizer { inner })
    }

    /// Writes a `tokenizer.json` that Hugging Face's `tokenizers` reads.
    pub fn save(&self, path: &Path) -> Result<()> {
        self.inner.save(path, true).map_err(|e| anyhow!("writing {}: {e}", path.display()))
    }

    /// Ids in use, added tokens included.
    pub fn vocab_size(&self) -> i64 {
        self.inner.get_vocab_size(true) as i64
    }

    /// The id of a token (special or not), if it has one.
    pub fn special(&self, token: &str) -> Option<i64> {
        self.inner.token_to_id(token).map(i64::from)
    }

    /// The ids of `text`; added tokens are matched first, as in `transformers`.
    pub fn encode(&self, text: &str) -> Result<Vec<i64>> {
        let encoding = self.inner.encode(text, false).map_err(|e| anyhow!("tokenizing {text:?}: {e}"))?;
        Ok(encoding.get_ids().iter().map(|&i| i64::from(i)).collect())
    }

    /// The text of `ids`, special tokens included; ids outside the vocabulary
    /// are skipped (a model may have more ids than its tokenizer).
    pub fn decode(&self, ids: &[i64]) -> Result<String> {
        self.inner.decode(&to_u32(ids), false).map_err(|e| anyhow!("decoding {ids:?}: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpt2_byte_alphabet() {
        assert_eq!(byte_char(b'a'), 'a');
        assert_eq!(byte_char(b' '), 'Ġ');
        assert_eq!(byte_char(b'\n'), 'Ċ');
        assert_eq!(byte_char(0), 'Ā');
    }

    #[test]
    fn character_tokenizer_round_trips() {
        let t = Tokenizer::chars("0123456789+=\n").unwrap();
        assert_eq!(t.vocab_size(), 13);
        let ids = t.encode("07+58=065\n").unwrap();
        assert_eq!(ids, [0, 7, 10, 5, 8, 11, 0, 6, 5, 12]);
        assert_eq!(t.decode(&ids).unwrap(), "07+58=065\n");
        assert_eq!(t.decode(&[1, 99, -3, 2]).unwrap(), "12");
        assert!(Tokenizer::chars("é").is_err());
    }
}
