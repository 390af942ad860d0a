//! The iw-SFT scenario's task: `d`-digit addition with a checkable answer.
//! Prompts are `aa+bb=` and answers `ccc` followed by a newline, every number
//! zero-padded (so every sequence of a task has the same length); the reward
//! is exact match of the text before the first newline, and the graded
//! reward the share of the answer's digits that are right.
//!
//! The broad pre-training data is of mixed quality, as web data is: a share
//! of the completions is right, the others carry the errors people make:
//! the carry forgotten (digit-wise sum mod 10) where there is a carry, else one
//! digit off by one.

use adasample::rng::{below, unit_f64, DefaultRng};
use anyhow::{bail, Result};
use rand_core::SeedableRng;

/// Characters of the task's own tokenizer.
pub const ALPHABET: &str = "0123456789+=\n";

/// One problem `a + b`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Problem {
    pub a: u64,
    pub b: u64,
}

/// Addition of numbers below `10^digits`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Task {
    pub digits: u32,
}

impl Task {
    pub fn new(digits: u32) -> Result<Self> {
        if !(1..=6).contains(&digits) {
            bail!("--digits must be in 1..=6, got {digits}");
        }
        Ok(Task { digits })
    }

    fn pad(&self, x: u64, width: u32) -> String {
        format!("{x:0width$}", width = width as usize)
    }

    pub fn prompt(&self, p: Problem) -> String {
        format!("{}+{}=", self.pad(p.a, self.digits), self.pad(p.b, self.digits))
    }

    /// The right answer's text, newline included.
    pub fn answer(&self, p: Problem) -> String {
        format!("{}\n", self.pad(p.a + p.b, self.digits + 1))
    }

    /// A plausible wrong answer: no carries if the sum has one, else one digit off by one.
    pub fn wrong_answer(&self, p: Problem, rng: &mut DefaultRng) -> String {
        let base = 10u64;
        let (mut no_carry, mut scale, mut carried) = (0, 1, false);
        let (mut a, mut b) = (p.a, p.b);
        for _ in 0..self.digits {
            let s = a % base + b % base;
            carried |= s >= base;
            no_carry += (s % base) * scale;
            scale *= base;
            a /= base;
            b /= base;
        }
        if carried {
            return format!("{}\n", self.pad(no_carry, self.digits + 1));
        }
        let mut digits: Vec<u8> = self.pad(p.a + p.b, self.digits + 1).into_bytes();
        let k = below(rng, digits.len());
        let d = digits[k] - b'0';
        digits[k] = b'0' + if unit_f64(rng) < 0.5 { (d + 1) % 10 } else { (d + 9) % 10 };
        format!("{}\n", String::from_utf8_lossy(&digits))
    }

    /// Whether `completion` (text generated after the prompt) is right.
    pub fn reward(&self, p: Problem, completion: &str) -> bool {
        let answer = self.answer(p);
        completion.split('\n').next() == Some(answer.trim_end_matches('\n')) && completion.contains('\n')
    }

    /// The graded reward of `completion`, in [0, 1]: the share of the
    /// answer's digit positions it gets right, over the longer of the answer
    /// and the completion's first line (extra characters count as wrong),
    /// and 0 for a completion that never ends its line. It is 1 exactly when
    /// [`Task::reward`] holds.
    pub fn score(&self, p: Problem, completion: &str) -> f64 {
        let Some((line, _)) = completion.split_once('\n') else { return 0.0 };
        let answer = self.answer(p);
        let answer = answer.trim_end_matches('\n').as_bytes();
        let line = line.as_bytes();
        let right = answer.iter().zip(line).filter(|(a, b)| a == b).count();
        right as f64 / answer.len().max(line.len()) as f64
    }

    /// Every problem, shuffled with a fixed seed, split into `held_out`
    /// evaluation problems and the rest (training and curation).
    pub fn split(&self, held_out: usize) -> Result<(Vec<Problem>, Vec<Problem>)> {
        let n = 10u64.pow(self.digits);
        if (n * n) as usize <= held_out {
            bail!("{}-digit addition has {} problems, not enough to hold out {held_out}", self.digits, n * n);
        }
        let mut all: Vec<Problem> = (0..n).flat_map(|a| (0..n).map(move |b| Problem { a, b })).collect();
        let mut rng = DefaultRng::seed_from_u64(0xADD5);
        for k in (1..all.len()).rev() {
            all.swap(k, below(&mut rng, k + 1));
        }
        let train = all.split_off(held_out);
        Ok((train, all))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_and_rewards() {
        let t = Task::new(2).unwrap();
        let p = Problem { a: 7, b: 58 };
        assert_eq!(t.prompt(p), "07+58=");
        assert_eq!(t.answer(p), "065\n");
        let mut rng = DefaultRng::seed_from_u64(1);
        assert_eq!(t.wrong_answer(p, &mut rng), "055\n"); // carry forgotten
        let q = Problem { a: 12, b: 30 };
        let w = t.wrong_answer(q, &mut rng);
        assert_ne!(w, t.answer(q));
        assert_eq!(w.len(), 4);
        assert!(t.reward(p, "065\nxyz") && !t.reward(p, "065") && !t.reward(p, "0650\n"));
        // Partial credit: 3 digits of 3, 2 of 3, a digit short, a digit too many, no newline.
        assert_eq!(t.score(p, "065\nxyz"), 1.0);
        assert!((t.score(p, "055\n") - 2.0 / 3.0).abs() < 1e-12);
        assert!((t.score(p, "06\n") - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(t.score(p, "0650\n"), 0.75);
        assert_eq!(t.score(p, "065"), 0.0);
        assert_eq!(t.score(p, "\n"), 0.0);
        let mut rng = DefaultRng::seed_from_u64(9);
        for a in 0..100 {
            for b in (0..100).step_by(7) {
                let q = Problem { a, b };
                for c in [t.answer(q), t.wrong_answer(q, &mut rng), "1\n".into(), "".into(), "99999\n".into()] {
                    let s = t.score(q, &c);
                    assert!((0.0..=1.0).contains(&s));
                    assert_eq!(s == 1.0, t.reward(q, &c), "{q:?} {c:?}");
                }
            }
        }
        let (train, held) = t.split(500).unwrap();
        assert_eq!((train.len(), held.len()), (9_500, 500));
        assert!(held.iter().all(|h| !train.contains(h)));
    }
}
