//! GPT-2's byte-level BPE tokenizer, read from (and written as) a Hugging Face
//! `tokenizer.json`: `model.vocab` (token -> id), `model.merges` (ranked, as
//! `"a b"` strings or `["a", "b"]` pairs) and `added_tokens` (special tokens
//! such as `<|endoftext|>`, matched before anything else).
//!
//! Encoding: split out added tokens; pre-tokenize as GPT-2's pattern
//! `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
//! (hand-written, no regex engine); map each piece's UTF-8 bytes to GPT-2's
//! printable byte alphabet; merge the lowest-ranked adjacent pair until none
//! applies. Cost O(n^2) per piece, pieces are words.
//! The arithmetic task's own tokenizer is the same format with one token per
//! character and no merges.

use anyhow::{bail, Context, Result};
use std::collections::HashMap;
use std::path::Path;

/// A byte-level BPE tokenizer.
#[derive(Debug, Clone)]
pub struct Tokenizer {
    vocab: HashMap<String, i64>,
    tokens: HashMap<i64, String>,
    ranks: HashMap<(String, String), usize>,
    merges: Vec<(String, String)>,
    added: Vec<(String, i64)>,
    byte_char: [char; 256],
    char_byte: HashMap<char, u8>,
}

/// GPT-2's `bytes_to_unicode`: printable bytes map to themselves, the others
/// to code points from 256 up, in byte order.
fn byte_alphabet() -> [char; 256] {
    let mut table = ['\0'; 256];
    let mut next = 256u32;
    for b in 0..=255u8 {
        let printable = (b'!'..=b'~').contains(&b) || (0xA1..=0xAC).contains(&b) || (0xAE..=0xFF).contains(&b);
        table[b as usize] = if printable {
            b as char
        } else {
            next += 1;
            char::from_u32(next - 1).unwrap_or('\0')
        };
    }
    table
}

#[derive(Clone, Copy, PartialEq)]
enum Class {
    Letter,
    Number,
    Space,
    Other,
}

fn class(c: char) -> Class {
    if c.is_whitespace() {
        Class::Space
    } else if c.is_alphabetic() {
        Class::Letter
    } else if c.is_numeric() {
        Class::Number
    } else {
        Class::Other
    }
}

/// GPT-2's pre-tokenization pattern, by hand.
pub fn pre_tokenize(text: &str) -> Vec<&str> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let at = |k: usize| chars.get(k).map_or(text.len(), |c| c.0);
    let mut out = Vec::new();
    let mut k = 0;
    while k < chars.len() {
        let start = k;
        let c = chars[k].1;
        // Contractions.
        if c == '\'' {
            let rest = &text[chars[k].0..];
            if let Some(len) =
                ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"].iter().find(|s| rest.starts_with(**s)).map(|s| s.len())
            {
                out.push(&rest[..len]);
                k = chars.partition_point(|x| x.0 < chars[start].0 + len);
                continue;
            }
        }
        // An optional leading space joins a following run of one class.
        let lead = usize::from(c == ' ' && chars.get(k + 1).is_some_and(|n| class(n.1) != Class::Space));
        let kind = class(chars[k + lead].1);
        if kind != Class::Space {
            k += lead + 1;
            while k < chars.len() && class(chars[k].1) == kind {
                k += 1;
            }
        } else {
            // Whitespace: the run, less its last char when a non-space follows
            // (`\s+(?!\S)`), or that last char alone (`\s+`).
            let mut end = k;
            while end < chars.len() && class(chars[end].1) == Class::Space {
                end += 1;
            }
            k = if end == chars.len() || end - k == 1 { end } else { end - 1 };
        }
        out.push(&text[chars[start].0..at(k)]);
    }
    out
}

impl Tokenizer {
    /// From vocabulary, ranked merges and added (special) tokens.
    pub fn new(vocab: HashMap<String, i64>, merges: Vec<(String, String)>, added: Vec<(String, i64)>) -> Result<Self> {
        let mut tokens: HashMap<i64, String> = vocab.iter().map(|(t, &i)| (i, t.clone())).collect();
        for (t, i) in &added {
            tokens.insert(*i, t.clone());
        }
        if tokens.len() != vocab.len() + added.iter().filter(|(t, _)| !vocab.contains_key(t)).count() {
            bail!("tokenizer: two tokens share an id");
        }
        let byte_char = byte_alphabet();
        let char_byte = byte_char.iter().enumerate().map(|(b, &c)| (c, b as u8)).collect();
        let ranks = merges.iter().enumerate().map(|(r, m)| (m.clone(), r)).collect();
        let mut added = added;
        // Longest first, so a special token that contains another wins.
        added.sort_by_key(|(t, _)| std::cmp::Reverse(t.len()));
        Ok(Tokenizer { vocab, tokens, ranks, merges, added, byte_char, char_byte })
    }

    /// One token per character of `alphabet` (ids in order), no merges: the
    /// tokenizer of a model trained from scratch on a small alphabet.
    pub fn chars(alphabet: &str) -> Result<Self> {
        let table = byte_alphabet();
        let mut vocab = HashMap::new();
        for c in alphabet.chars() {
            if !c.is_ascii() {
                bail!("tokenizer: character alphabets are ASCII, got {c:?}");
            }
            let id = vocab.len() as i64;
            vocab.entry(table[c as usize].to_string()).or_insert(id);
        }
        Tokenizer::new(vocab, vec![], vec![])
    }

    /// Reads a Hugging Face `tokenizer.json` of a byte-level BPE model.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let json: serde_json::Value =
            serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))?;
        let model = &json["model"];
        if model["type"].as_str().is_some_and(|t| t != "BPE") {
            bail!("{}: model type {} is not BPE", path.display(), model["type"]);
        }
        let Some(vocab_json) = model["vocab"].as_object() else {
            bail!("{}: no model.vocab object", path.display());
        };
        let mut vocab = HashMap::new();
        for (t, id) in vocab_json {
            let Some(id) = id.as_i64() else { bail!("{}: vocab id of {t:?} is not an integer", path.display()) };
            vocab.insert(t.clone(), id);
        }
        let mut merges = Vec::new();
        for m in model["merges"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
            let pair = match (m.as_str(), m.as_array()) {
                (Some(s), _) => s.split_once(' ').map(|(a, b)| (a.to_string(), b.to_string())),
                (_, Some(a)) if a.len() == 2 => {
                    a[0].as_str().zip(a[1].as_str()).map(|(x, y)| (x.to_string(), y.to_string()))
                }
                _ => None,
            };
            merges.push(pair.with_context(|| format!("{}: merge {m} is not a pair", path.display()))?);
        }
        let added = json["added_tokens"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .filter_map(|a| Some((a["content"].as_str()?.to_string(), a["id"].as_i64()?)))
            .collect();
        Tokenizer::new(vocab, merges, added)
    }

    /// Writes a `tokenizer.json` that Hugging Face's `tokenizers` reads.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut vocab: Vec<(&String, &i64)> = self.vocab.iter().collect();
        vocab.sort_by_key(|(_, &i)| i);
        let vocab: serde_json::Map<String, serde_json::Value> =
            vocab.into_iter().map(|(t, &i)| (t.clone(), i.into())).collect();
        let json = serde_json::json!({
            "version": "1.0",
            "added_tokens": self.added.iter().map(|(t, i)| serde_json::json!({
                "id": i, "content": t, "single_word": false, "lstrip": false, "rstrip": false,
                "normalized": false, "special": true})).collect::<Vec<_>>(),
            "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
            "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
            "model": {"type": "BPE", "vocab": vocab,
                      "merges": self.merges.iter().map(|(a, b)| format!("{a} {b}")).collect::<Vec<_>>()},
        });
        std::fs::write(path, serde_json::to_string_pretty(&json)? + "\n")?;
        Ok(())
    }

    /// Number of ids (the model's vocabulary must be at least this large).
    pub fn vocab_size(&self) -> i64 {
        self.tokens.keys().max().map_or(0, |m| m + 1)
    }

    /// The id of a special (added) token.
    pub fn special(&self, token: &str) -> Option<i64> {
        self.added.iter().find(|(t, _)| t == token).map(|a| a.1)
    }

    fn bpe(&self, piece: &str, out: &mut Vec<i64>) -> Result<()> {
        let mut parts: Vec<String> = piece.bytes().map(|b| self.byte_char[b as usize].to_string()).collect();
        loop {
            let best = (0..parts.len().saturating_sub(1))
                .filter_map(|k| self.ranks.get(&(parts[k].clone(), parts[k + 1].clone())).map(|&r| (r, k)))
                .min();
            let Some((_, k)) = best else { break };
            let merged = parts[k].clone() + &parts[k + 1];
            parts.splice(k..k + 2, [merged]);
        }
        for p in parts {
            match self.vocab.get(&p) {
                Some(&id) => out.push(id),
                None => bail!("tokenizer: {piece:?} needs the token {p:?}, which is not in the vocabulary"),
            }
        }
        Ok(())
    }

    /// Token ids of `text`.
    pub fn encode(&self, text: &str) -> Result<Vec<i64>> {
        let mut out = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            // The earliest special token, if any.
            let next = self
                .added
                .iter()
                .filter_map(|(t, id)| rest.find(t.as_str()).map(|at| (at, t.len(), *id)))
                .min_by_key(|x| x.0);
            let (plain, special) = match next {
                Some((at, len, id)) => (&rest[..at], Some((len + at, id))),
                None => (rest, None),
            };
            for piece in pre_tokenize(plain) {
                self.bpe(piece, &mut out)?;
            }
            match special {
                Some((end, id)) => {
                    out.push(id);
                    rest = &rest[end..];
                }
                None => rest = "",
            }
        }
        Ok(out)
    }

    /// Text of `ids`; unknown ids decode to U+FFFD, invalid UTF-8 lossily.
    pub fn decode(&self, ids: &[i64]) -> String {
        let mut bytes = Vec::new();
        for id in ids {
            match self.tokens.get(id) {
                Some(t) if self.added.iter().any(|(a, _)| a == t) => bytes.extend_from_slice(t.as_bytes()),
                Some(t) => bytes.extend(t.chars().map(|c| self.char_byte.get(&c).copied().unwrap_or(b'?'))),
                None => bytes.extend_from_slice("\u{FFFD}".as_bytes()),
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pre_tokenize_follows_gpt2s_pattern() {
        assert_eq!(
            pre_tokenize("Hello world's  12+34=\n"),
            ["Hello", " world", "'s", " ", " 12", "+", "34", "=", "\n"]
        );
        assert_eq!(pre_tokenize("a \nb  "), ["a", " ", "\n", "b", "  "]);
        assert_eq!(pre_tokenize("x\n\ny"), ["x", "\n", "\n", "y"]);
    }

    #[test]
    fn bpe_merges_by_rank_and_round_trips() {
        let t = byte_alphabet();
        let mut vocab: HashMap<String, i64> = HashMap::new();
        for c in "abcĠ12".chars() {
            let n = vocab.len() as i64;
            vocab.insert(c.to_string(), n);
        }
        for m in ["ab", "abc", "Ġa", "12"] {
            let n = vocab.len() as i64;
            vocab.insert(m.to_string(), n);
        }
        assert_eq!(t[b' ' as usize], 'Ġ');
        let merges = [("a", "b"), ("ab", "c"), ("Ġ", "a"), ("1", "2")].map(|(a, b)| (a.to_string(), b.to_string()));
        let tok = Tokenizer::new(vocab.clone(), merges.to_vec(), vec![("<|endoftext|>".into(), 100)]).unwrap();
        let ids = tok.encode("abc ab12<|endoftext|>c").unwrap();
        // " ab": (a, b) outranks (Ġ, a), so the space stays alone.
        let names: Vec<&str> = ["abc", "Ġ", "ab", "12"].to_vec();
        let want: Vec<i64> = names.iter().map(|n| vocab[*n]).chain([100, vocab["c"]]).collect();
        assert_eq!(ids, want);
        assert_eq!(tok.decode(&ids), "abc ab12<|endoftext|>c");
        assert!(tok.encode("z").unwrap_err().to_string().contains("not in the vocabulary"));
    }
}
