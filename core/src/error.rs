//! The crate's single error type.
//!
//! Every fallible public call returns [`Result`]. A call that returns an error
//! has changed nothing: all inputs are validated before any state is touched.
//! The variant names are part of the contract: the npm package exposes them as
//! the `code` of the thrown `Error`.

use core::fmt;

/// Everything that can go wrong in a public call of this crate.
///
/// `#[non_exhaustive]`: new variants may be added in minor releases.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// A priority (or TD error) was NaN, infinite or negative.
    InvalidPriority {
        /// Position of the offending value in the caller's input.
        position: usize,
        /// The value itself.
        value: f64,
    },
    /// An index or slot past the end of the structure.
    IndexOutOfRange {
        /// The index that was asked for.
        index: usize,
        /// The number of valid indices.
        len: usize,
    },
    /// Sampling (or a query that needs mass) on an empty structure, or one whose
    /// total priority is zero.
    Empty,
    /// A configuration value is out of its allowed range.
    InvalidConfig {
        /// The field's name, as in the config struct.
        field: &'static str,
        /// What the field must satisfy.
        expected: &'static str,
    },
    /// A call argument (a loss, a reward, a log-probability, a query point) is
    /// out of range or not finite.
    InvalidArgument {
        /// The argument's name.
        name: &'static str,
        /// Position of the offending value in the caller's input.
        position: usize,
        /// The value itself.
        value: f64,
    },
    /// Two inputs that must have matching lengths do not.
    LengthMismatch {
        /// The length the call expected.
        expected: usize,
        /// The length it got.
        found: usize,
    },
    /// A batch without replacement asked for more distinct items than can be drawn.
    BatchTooLarge {
        /// The batch size asked for.
        requested: usize,
        /// How many distinct items have a non-zero probability.
        available: usize,
    },
    /// The requested capacity does not fit the chosen fixed storage
    /// (`Fixed<N>`); raise `N` or lower the capacity.
    StorageTooSmall {
        /// Elements one buffer would need.
        needed: usize,
        /// Elements one buffer of the storage holds (`N`).
        available: usize,
    },
    /// The allocator could not provide the memory a call needs (a batch, a
    /// tree, a snapshot); nothing was changed.
    AllocationFailed {
        /// The bytes that were asked for (saturated at `usize::MAX`).
        bytes: usize,
    },
    /// A buffer that does not overwrite (the reward sampler's) is full.
    BufferFull {
        /// Its capacity, in elements.
        capacity: usize,
    },
    /// A finite value so large that sums over it could overflow: priorities,
    /// TD errors (`|delta|`), losses and scores are limited to
    /// [`MAX_PRIORITY`](crate::MAX_PRIORITY).
    ValueTooLarge {
        /// What the value is (`"priority"`, `"td_error"`, `"loss"`, ...).
        name: &'static str,
        /// Position of the offending value in the caller's input.
        position: usize,
        /// The value itself.
        value: f64,
    },
    /// A result that is not representable as a finite `f64`, although every
    /// input was finite (a loss whose true value exceeds `f64::MAX`).
    ResultOverflow {
        /// The result's name.
        name: &'static str,
    },
    /// A sampler used before it was configured: the `EMPTY` constant, or one
    /// whose `reset` failed; call `reset` with a valid configuration.
    NotConfigured,
    /// A size argument (not a configuration field) is out of range.
    InvalidSize {
        /// The argument's name.
        name: &'static str,
        /// The size given.
        value: usize,
        /// What it must satisfy.
        expected: &'static str,
    },
    /// A row or batch does not fit a row storage's schema (a wrong column
    /// count or length, an output of another dtype, or a value the column's
    /// dtype cannot hold); nothing was written.
    SchemaMismatch {
        /// What was wrong, and where.
        problem: crate::rows::SchemaProblem,
    },
    /// A snapshot is truncated, altered or not a snapshot of this kind of sampler.
    CorruptSnapshot {
        /// Which check failed.
        reason: &'static str,
    },
    /// An item's `Serialize` implementation failed while taking a snapshot.
    ItemNotSerializable,
    /// A snapshot was written by a format version this build cannot read.
    UnsupportedSnapshotVersion {
        /// The version found in the snapshot.
        found: u16,
        /// The version this build writes and reads.
        supported: u16,
    },
}

impl Error {
    /// The variant's name, e.g. `"InvalidPriority"`: the stable error code used
    /// by the npm package.
    ///
    /// ```
    /// assert_eq!(adasample::Error::Empty.code(), "Empty");
    /// ```
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidPriority { .. } => "InvalidPriority",
            Error::IndexOutOfRange { .. } => "IndexOutOfRange",
            Error::Empty => "Empty",
            Error::InvalidConfig { .. } => "InvalidConfig",
            Error::InvalidArgument { .. } => "InvalidArgument",
            Error::LengthMismatch { .. } => "LengthMismatch",
            Error::BatchTooLarge { .. } => "BatchTooLarge",
            Error::StorageTooSmall { .. } => "StorageTooSmall",
            Error::AllocationFailed { .. } => "AllocationFailed",
            Error::BufferFull { .. } => "BufferFull",
            Error::ValueTooLarge { .. } => "ValueTooLarge",
            Error::ResultOverflow { .. } => "ResultOverflow",
            Error::NotConfigured => "NotConfigured",
            Error::InvalidSize { .. } => "InvalidSize",
            Error::SchemaMismatch { .. } => "SchemaMismatch",
            Error::CorruptSnapshot { .. } => "CorruptSnapshot",
            Error::ItemNotSerializable => "ItemNotSerializable",
            Error::UnsupportedSnapshotVersion { .. } => "UnsupportedSnapshotVersion",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::InvalidPriority { position, value } => {
                write!(f, "invalid priority {value} at position {position}: priorities must be finite and >= 0")
            }
            Error::IndexOutOfRange { index, len } => {
                write!(f, "index {index} out of range: {len} valid indices")
            }
            Error::Empty => f.write_str("nothing to sample: the structure is empty or its total priority is 0"),
            Error::InvalidConfig { field, expected } => {
                write!(f, "invalid config: `{field}` must be {expected}")
            }
            Error::InvalidArgument { name, position, value } => {
                write!(f, "invalid {name} {value} at position {position}")
            }
            Error::LengthMismatch { expected, found } => {
                write!(f, "length mismatch: expected {expected} values, found {found}")
            }
            Error::BatchTooLarge { requested, available } => write!(
                f,
                "batch of {requested} distinct items requested without replacement, only {available} can be drawn"
            ),
            Error::StorageTooSmall { needed, available } => {
                write!(f, "fixed storage too small: {needed} elements needed, {available} available")
            }
            Error::AllocationFailed { bytes } => write!(f, "out of memory: {bytes} bytes could not be allocated"),
            Error::BufferFull { capacity } => write!(f, "the buffer is full: it holds at most {capacity} elements"),
            Error::ValueTooLarge { name, position, value } => write!(
                f,
                "{name} {value} at position {position} is above MAX_PRIORITY ({}), the largest value whose sums stay finite",
                crate::MAX_PRIORITY
            ),
            Error::ResultOverflow { name } => {
                write!(f, "the {name} is larger than the largest finite f64 (every input was finite)")
            }
            Error::NotConfigured => {
                f.write_str("not configured: the EMPTY constant (or a failed reset); call reset with a valid config")
            }
            Error::InvalidSize { name, value, expected } => write!(f, "invalid {name} {value}: must be {expected}"),
            Error::SchemaMismatch { problem } => write!(f, "row does not fit the schema: {problem}"),
            Error::CorruptSnapshot { reason } => write!(f, "corrupt snapshot: {reason}"),
            Error::ItemNotSerializable => f.write_str("an item could not be serialized into the snapshot"),
            Error::UnsupportedSnapshotVersion { found, supported } => {
                write!(f, "snapshot format version {found} is not supported (this build reads version {supported})")
            }
        }
    }
}

impl core::error::Error for Error {}

/// `core::result::Result` with this crate's [`Error`].
pub type Result<T> = core::result::Result<T, Error>;

/// Checks a raw priority: finite and non-negative.
pub(crate) fn check_priority(position: usize, value: f64) -> Result<()> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidPriority { position, value })
    }
}

/// Checks a priority-like input: finite, `>= 0` and at most
/// [`MAX_PRIORITY`](crate::MAX_PRIORITY).
pub(crate) fn check_bounded(name: &'static str, position: usize, value: f64) -> Result<()> {
    check_priority(position, value)?;
    if above_max(value) {
        return Err(Error::ValueTooLarge { name, position, value });
    }
    Ok(())
}

/// `|x| > MAX_PRIORITY`, or `x` NaN or infinite: an integer comparison of the
/// magnitude's bit pattern, which orders magnitudes as their values do (a
/// float comparison is a library call on a Cortex-M4F).
pub(crate) fn above_max(x: f64) -> bool {
    x.to_bits() & !(1 << 63) > crate::MAX_PRIORITY.to_bits()
}

/// `len` elements of `T` can be reserved in a new vector, or
/// [`Error::AllocationFailed`] (never an abort, whatever `len`).
#[cfg(feature = "alloc")]
pub(crate) fn try_vec<T: Clone>(len: usize, value: T) -> Result<alloc::vec::Vec<T>> {
    let mut v = alloc::vec::Vec::new();
    if v.try_reserve_exact(len).is_err() {
        return Err(Error::AllocationFailed { bytes: len.saturating_mul(core::mem::size_of::<T>()) });
    }
    v.resize(len, value);
    Ok(v)
}

/// Checks that every value is finite.
pub(crate) fn check_finite(name: &'static str, values: &[f64]) -> Result<()> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(position) => Err(Error::InvalidArgument { name, position, value: values[position] }),
        None => Ok(()),
    }
}

pub(crate) fn check_len(expected: usize, found: usize) -> Result<()> {
    if expected == found {
        Ok(())
    } else {
        Err(Error::LengthMismatch { expected, found })
    }
}

/// `Ok` when `ok`, else an [`Error::InvalidConfig`] naming the field.
pub(crate) fn ensure(ok: bool, field: &'static str, expected: &'static str) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidConfig { field, expected })
    }
}
