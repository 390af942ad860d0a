//! Classification data for the classifier scenario: the red wine-quality set
//! shipped inside the `linfa-datasets` crate (1,599 wines, 11 features,
//! quality 3..8, classes of 10 to 681 examples), a long-tailed synthetic set
//! with a chosen imbalance ratio, and a user's CSV file. Splits are fixed
//! (their own seed, not the run's), stratified, and standardised with the
//! training half's statistics.

use adasample::rng::{below, DefaultRng};
use anyhow::{bail, Context, Result};
use rand_core::SeedableRng;
use std::collections::BTreeMap;
use std::path::Path;

/// Examples as row-major `f32` features and class indices `0..classes`.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub features: Vec<f32>,
    pub dim: usize,
    pub labels: Vec<i64>,
}

impl Table {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    fn row(&self, i: usize) -> &[f32] {
        &self.features[i * self.dim..(i + 1) * self.dim]
    }

    fn select(&self, rows: &[usize]) -> Table {
        Table {
            features: rows.iter().flat_map(|&i| self.row(i).iter().copied()).collect(),
            dim: self.dim,
            labels: rows.iter().map(|&i| self.labels[i]).collect(),
        }
    }

    /// Examples per class.
    pub fn counts(&self, classes: usize) -> Vec<usize> {
        let mut c = vec![0; classes];
        for &l in &self.labels {
            c[l as usize] += 1;
        }
        c
    }
}

/// A named train/test split.
#[derive(Debug, Clone)]
pub struct Split {
    pub name: String,
    pub class_names: Vec<String>,
    pub train: Table,
    pub test: Table,
}

impl Split {
    pub fn classes(&self) -> usize {
        self.class_names.len()
    }
}

/// The seed of every fixed split: the same split for every run and sampler.
const SPLIT_SEED: u64 = 0x5011_7000;

/// The test share of a stratified split.
pub const TEST_FRACTION: f64 = 0.25;

/// Per class, a shuffled `round(n * test_fraction)` (at least one, when the class
/// has two or more) goes to the test set; the rest trains.
pub fn stratified_split(name: &str, class_names: Vec<String>, all: &Table, test_fraction: f64) -> Split {
    let mut rng = DefaultRng::seed_from_u64(SPLIT_SEED);
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for c in 0..class_names.len() as i64 {
        let mut rows: Vec<usize> = (0..all.len()).filter(|&i| all.labels[i] == c).collect();
        for k in (1..rows.len()).rev() {
            rows.swap(k, below(&mut rng, k + 1));
        }
        let n_test = if rows.len() >= 2 { ((rows.len() as f64 * test_fraction).round() as usize).max(1) } else { 0 };
        test.extend_from_slice(&rows[..n_test]);
        train.extend_from_slice(&rows[n_test..]);
    }
    train.sort_unstable();
    test.sort_unstable();
    let mut split = Split { name: name.into(), class_names, train: all.select(&train), test: all.select(&test) };
    standardize(&mut split);
    split
}

/// Z-scores every feature with the training set's mean and standard deviation
/// (a constant feature is only centred).
fn standardize(split: &mut Split) {
    let d = split.train.dim;
    let n = split.train.len().max(1) as f64;
    for j in 0..d {
        let col: Vec<f64> = (0..split.train.len()).map(|i| split.train.features[i * d + j] as f64).collect();
        let mean = col.iter().sum::<f64>() / n;
        let var = col.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        let sd = if var > 1e-24 { var.sqrt() } else { 1.0 };
        for t in [&mut split.train, &mut split.test] {
            for i in 0..t.len() {
                let x = &mut t.features[i * d + j];
                *x = ((*x as f64 - mean) / sd) as f32;
            }
        }
    }
}

/// Maps raw labels to class indices in sorted order (numerically when every
/// label is a number, so quality 3..8 stay in order).
fn index_labels(raw: &[String]) -> (Vec<i64>, Vec<String>) {
    let numeric: Option<Vec<f64>> = raw.iter().map(|s| s.parse::<f64>().ok()).collect();
    let mut names: Vec<String> = raw.to_vec();
    match &numeric {
        Some(_) => names.sort_by(|a, b| a.parse::<f64>().unwrap_or(0.0).total_cmp(&b.parse::<f64>().unwrap_or(0.0))),
        None => names.sort(),
    }
    names.dedup();
    let index: BTreeMap<&str, i64> = names.iter().enumerate().map(|(i, n)| (n.as_str(), i as i64)).collect();
    let labels = raw.iter().map(|s| index[s.as_str()]).collect();
    (labels, names)
}

/// Red wine quality (Cortez et al. 2009) from `linfa-datasets`, stratified 75/25.
pub fn wine_quality() -> Split {
    let ds = linfa_datasets::winequality();
    let records = ds.records();
    let raw: Vec<String> = ds.targets().iter().map(|q| q.to_string()).collect();
    let (labels, names) = index_labels(&raw);
    let table = Table { features: records.iter().map(|&x| x as f32).collect(), dim: records.ncols(), labels };
    stratified_split("wine-quality", names.into_iter().map(|q| format!("q{q}")).collect(), &table, TEST_FRACTION)
}

fn gaussian(rng: &mut DefaultRng) -> f64 {
    // Box-Muller; 1 - u keeps the log finite.
    let (u, v) = (adasample::rng::unit_f64(rng), adasample::rng::unit_f64(rng));
    (-2.0 * (1.0 - u).ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// A long-tailed Gaussian mixture in the style of CIFAR-LT: class `k` of `K`
/// has `round(n_max * imbalance^(-k / (K - 1)))` training examples (so the
/// largest over the smallest is `imbalance`) and a balanced test set of
/// `n_test` per class. Class means are drawn once (fixed seed) at a distance
/// where classes overlap, so the minority classes are genuinely hard.
pub fn long_tail(classes: usize, imbalance: f64, n_max: usize, n_test: usize) -> Result<Split> {
    if !(2..=100).contains(&classes) {
        bail!("long-tail: --classes must be in 2..=100, got {classes}");
    }
    if !(imbalance.is_finite() && imbalance >= 1.0) {
        bail!("long-tail: --imbalance must be a finite ratio >= 1, got {imbalance}");
    }
    const DIM: usize = 10;
    const SEPARATION: f64 = 0.55;
    let mut rng = DefaultRng::seed_from_u64(SPLIT_SEED ^ 0x7a11);
    let means: Vec<Vec<f64>> =
        (0..classes).map(|_| (0..DIM).map(|_| SEPARATION * gaussian(&mut rng)).collect()).collect();
    let mut draw = |k: usize, n: usize, t: &mut Table| {
        for _ in 0..n {
            t.features.extend(means[k].iter().map(|m| (m + gaussian(&mut rng)) as f32));
            t.labels.push(k as i64);
        }
    };
    let (mut train, mut test) =
        (Table { features: vec![], dim: DIM, labels: vec![] }, Table { features: vec![], dim: DIM, labels: vec![] });
    for k in 0..classes {
        let share = imbalance.powf(-(k as f64) / (classes - 1) as f64);
        draw(k, ((n_max as f64 * share).round() as usize).max(1), &mut train);
        draw(k, n_test, &mut test);
    }
    let mut split = Split {
        name: format!("long-tail-{classes}x{imbalance}"),
        class_names: (0..classes).map(|k| format!("c{k}")).collect(),
        train,
        test,
    };
    standardize(&mut split);
    Ok(split)
}

/// A CSV file with a header row: every column but `label_column` must be a
/// number; labels may be any text. Stratified 75/25.
pub fn csv_file(path: &Path, label_column: &str) -> Result<Split> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .with_context(|| format!("--csv {}: cannot open", path.display()))?;
    let headers = reader.headers().with_context(|| format!("--csv {}: no header row", path.display()))?.clone();
    let Some(label_at) = headers.iter().position(|h| h == label_column) else {
        bail!(
            "--csv {}: no column named `{label_column}` (columns: {})",
            path.display(),
            headers.iter().collect::<Vec<_>>().join(", ")
        );
    };
    let dim = headers.len() - 1;
    if dim == 0 {
        bail!("--csv {}: no feature columns besides `{label_column}`", path.display());
    }
    let (mut features, mut raw) = (Vec::new(), Vec::new());
    for (k, record) in reader.records().enumerate() {
        let line = k + 2;
        let record = record.with_context(|| format!("--csv {}: line {line}", path.display()))?;
        if record.len() != headers.len() {
            bail!(
                "--csv {}: line {line} has {} fields, the header has {}",
                path.display(),
                record.len(),
                headers.len()
            );
        }
        for (j, field) in record.iter().enumerate() {
            if j == label_at {
                raw.push(field.to_string());
            } else {
                match field.parse::<f32>() {
                    Ok(x) if x.is_finite() => features.push(x),
                    _ => bail!(
                        "--csv {}: line {line}, column `{}`: `{field}` is not a finite number",
                        path.display(),
                        &headers[j]
                    ),
                }
            }
        }
    }
    let (labels, names) = index_labels(&raw);
    if names.len() < 2 {
        bail!(
            "--csv {}: column `{label_column}` has {} distinct label(s); need at least 2",
            path.display(),
            names.len()
        );
    }
    let table = Table { features, dim, labels };
    let name = path.file_stem().map_or("csv".into(), |s| s.to_string_lossy().into_owned());
    let split = stratified_split(&name, names, &table, TEST_FRACTION);
    if split.train.is_empty() || split.test.is_empty() {
        bail!("--csv {}: too few rows for a train/test split ({} rows)", path.display(), table.len());
    }
    Ok(split)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wine_split_is_stratified_and_standardized() {
        let s = wine_quality();
        assert_eq!(s.class_names, ["q3", "q4", "q5", "q6", "q7", "q8"]);
        assert_eq!(s.train.len() + s.test.len(), 1599);
        let (tr, te) = (s.train.counts(6), s.test.counts(6));
        let total: Vec<usize> = tr.iter().zip(&te).map(|(a, b)| a + b).collect();
        assert_eq!(total, [10, 53, 681, 638, 199, 18]);
        for (a, b) in tr.iter().zip(&te) {
            let share = *b as f64 / (a + b) as f64;
            assert!((share - 0.25).abs() < 0.06, "{tr:?} {te:?}");
        }
        let mean0 = (0..s.train.len()).map(|i| s.train.features[i * 11] as f64).sum::<f64>() / s.train.len() as f64;
        assert!(mean0.abs() < 1e-5);
    }

    #[test]
    fn long_tail_has_the_requested_ratio() {
        let s = long_tail(10, 100.0, 500, 50).unwrap();
        let c = s.train.counts(10);
        assert_eq!((c[0], c[9]), (500, 5));
        assert!(s.test.counts(10).iter().all(|&n| n == 50));
    }
}
