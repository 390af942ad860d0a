//! Row storage: a ring of rows in named, fixed-width columns, knowing
//! nothing of priorities.
//!
//! Each column has a name, a [`DType`] (f32, f64, i32, u32, u8) and a shape
//! (`[]` for one value, `[4]` for a CartPole observation, `[4, 84, 84]` for
//! stacked frames); a row is every column's values, row-major. Rows are
//! written in place from slices ([`Values`], one per column, in schema
//! order) and a batch is gathered into caller slices ([`ValuesMut`], one per
//! column), in one pass over the batch: a batch crosses any boundary (wasm,
//! tensors, MPI) as one contiguous array per column.
//!
//! Values may come in another dtype than the column's (a JS `Float64Array`
//! into an `int32` column): they are converted, and refused with
//! [`Error::SchemaMismatch`] ([`SchemaProblem::NotRepresentable`]) where
//! the column cannot hold them: NaN, infinities or fractions into an integer
//! column, values outside its range (uint8: 0 to 255), finite values beyond
//! the f32 range into a float32 column. Every write checks the whole input
//! first: a wrong column count, length or value writes nothing.
//!
//! # Cost and memory
//! One row costs its bytes (`row_bytes()`: the sum of each column's values
//! times its dtype's size) and nothing else. Writing a row copies it once
//! (values of the column's own dtype as they are, others converted one by
//! one); gathering B rows copies B rows. On the heap, memory grows with the
//! rows written; `Fixed<N>` holds `capacity * row_bytes() <= N` bytes of rows
//! and `N` bytes of column names, inline. At most [`MAX_COLUMNS`] columns of
//! at most [`MAX_DIMS`] dimensions. Values are stored little-endian, so a
//! snapshot reads the same on every target.
//!
//! ```
//! use adasample::rows::{ColumnSpec, DType, RowStorage, Values, ValuesMut};
//! use adasample::storage::Heap;
//!
//! let mut rows: RowStorage<Heap> = RowStorage::new(1000, &[
//!     ColumnSpec::new("obs", DType::F32, &[4]),
//!     ColumnSpec::new("action", DType::I32, &[]),
//!     ColumnSpec::new("reward", DType::F32, &[]),
//! ])?;
//! rows.write(0, &[Values::F32(&[0.1, 0.2, 0.3, 0.4]), Values::I32(&[1]), Values::F64(&[1.0])])?;
//! rows.write(1, &[Values::F32(&[0.5; 4]), Values::F64(&[0.0]), Values::F32(&[-1.0])])?;
//! // A fraction into the int32 column: refused, nothing written.
//! assert!(rows.write(2, &[Values::F32(&[0.0; 4]), Values::F64(&[0.5]), Values::F32(&[0.0])]).is_err());
//! assert_eq!(rows.len(), 2);
//!
//! let (mut obs, mut action, mut reward) = ([0f32; 12], [0i32; 3], [0f32; 3]);
//! rows.gather(&[1, 0, 1], &mut [ValuesMut::F32(&mut obs), ValuesMut::I32(&mut action), ValuesMut::F32(&mut reward)])?;
//! assert_eq!((action, reward), ([0, 1, 0], [-1.0, 1.0, -1.0]));
//! assert_eq!(obs[4..8], [0.1, 0.2, 0.3, 0.4]);
//! # Ok::<(), adasample::Error>(())
//! ```

use crate::error::{ensure, Error, Result};
use crate::storage::{Buffer, Storage};

/// The most columns a row storage holds.
pub const MAX_COLUMNS: usize = 32;
/// The most dimensions a column's shape has.
pub const MAX_DIMS: usize = 8;

/// The element type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum DType {
    /// 32-bit float (`'float32'` in the npm package).
    F32,
    /// 64-bit float (`'float64'`).
    F64,
    /// 32-bit signed integer (`'int32'`).
    I32,
    /// 32-bit unsigned integer (`'uint32'`).
    U32,
    /// 8-bit unsigned integer (`'uint8'`).
    U8,
}

impl DType {
    /// Bytes per value.
    ///
    /// ```
    /// assert_eq!(adasample::rows::DType::U8.size(), 1);
    /// ```
    pub const fn size(self) -> usize {
        match self {
            DType::F64 => 8,
            DType::F32 | DType::I32 | DType::U32 => 4,
            DType::U8 => 1,
        }
    }

    /// The name the npm package uses: `"float32"`, `"float64"`, `"int32"`, `"uint32"`, `"uint8"`.
    ///
    /// ```
    /// use adasample::rows::DType;
    /// assert_eq!(DType::from_name("int32"), Some(DType::I32));
    /// assert_eq!(DType::I32.name(), "int32");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            DType::F32 => "float32",
            DType::F64 => "float64",
            DType::I32 => "int32",
            DType::U32 => "uint32",
            DType::U8 => "uint8",
        }
    }

    /// The dtype of an npm name; `None` for any other string.
    pub fn from_name(name: &str) -> Option<DType> {
        [DType::F32, DType::F64, DType::I32, DType::U32, DType::U8].into_iter().find(|d| d.name() == name)
    }
}

/// One column of a schema, as given to [`RowStorage::new`]. The storage
/// copies the name and shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnSpec<'a> {
    /// A non-empty name, distinct within the schema, at most 255 bytes.
    pub name: &'a str,
    /// The element type.
    pub dtype: DType,
    /// The shape of one row's value; `[]` for a single value. Every dimension at least 1.
    pub shape: &'a [usize],
}

impl<'a> ColumnSpec<'a> {
    /// A column spec.
    pub const fn new(name: &'a str, dtype: DType, shape: &'a [usize]) -> Self {
        ColumnSpec { name, dtype, shape }
    }
}

/// The values of one column for one or more rows, in any dtype (converted
/// to the column's, checked).
///
/// ```
/// use adasample::rows::{DType, Values};
/// let v = Values::F64(&[1.0, 2.0, 3.0]);
/// assert_eq!((v.len(), v.dtype(), v.is_empty()), (3, DType::F64, false));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Values<'a> {
    /// 32-bit floats.
    F32(&'a [f32]),
    /// 64-bit floats.
    F64(&'a [f64]),
    /// 32-bit signed integers.
    I32(&'a [i32]),
    /// 32-bit unsigned integers.
    U32(&'a [u32]),
    /// Bytes.
    U8(&'a [u8]),
}

/// A caller slice to gather one column into; its dtype must be the column's.
///
/// ```
/// use adasample::rows::{DType, ValuesMut};
/// let mut out = [0u8; 4];
/// let v = ValuesMut::U8(&mut out);
/// assert_eq!((v.len(), v.dtype(), v.is_empty()), (4, DType::U8, false));
/// ```
#[derive(Debug, PartialEq)]
pub enum ValuesMut<'a> {
    /// 32-bit floats.
    F32(&'a mut [f32]),
    /// 64-bit floats.
    F64(&'a mut [f64]),
    /// 32-bit signed integers.
    I32(&'a mut [i32]),
    /// 32-bit unsigned integers.
    U32(&'a mut [u32]),
    /// Bytes.
    U8(&'a mut [u8]),
}

impl Values<'_> {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            Values::F32(v) => v.len(),
            Values::F64(v) => v.len(),
            Values::I32(v) => v.len(),
            Values::U32(v) => v.len(),
            Values::U8(v) => v.len(),
        }
    }

    /// True when there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The dtype of the slice.
    pub fn dtype(&self) -> DType {
        match self {
            Values::F32(_) => DType::F32,
            Values::F64(_) => DType::F64,
            Values::I32(_) => DType::I32,
            Values::U32(_) => DType::U32,
            Values::U8(_) => DType::U8,
        }
    }

    /// Value `i` as an f64 (exact for every dtype).
    fn get(&self, i: usize) -> f64 {
        match self {
            Values::F32(v) => f64::from(v[i]),
            Values::F64(v) => v[i],
            Values::I32(v) => f64::from(v[i]),
            Values::U32(v) => f64::from(v[i]),
            Values::U8(v) => f64::from(v[i]),
        }
    }

    /// Values `from..from + n`, little-endian, into `out` (same dtype).
    fn copy_le(&self, from: usize, n: usize, out: &mut [u8]) {
        macro_rules! le {
            ($v:expr, $w:expr) => {
                for (o, x) in out.chunks_exact_mut($w).zip(&$v[from..from + n]) {
                    o.copy_from_slice(&x.to_le_bytes());
                }
            };
        }
        match self {
            Values::F32(v) => le!(v, 4),
            Values::F64(v) => le!(v, 8),
            Values::I32(v) => le!(v, 4),
            Values::U32(v) => le!(v, 4),
            Values::U8(v) => out[..n].copy_from_slice(&v[from..from + n]),
        }
    }
}

impl ValuesMut<'_> {
    /// Number of values the slice holds.
    pub fn len(&self) -> usize {
        match self {
            ValuesMut::F32(v) => v.len(),
            ValuesMut::F64(v) => v.len(),
            ValuesMut::I32(v) => v.len(),
            ValuesMut::U32(v) => v.len(),
            ValuesMut::U8(v) => v.len(),
        }
    }

    /// True when the slice holds no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The dtype of the slice.
    pub fn dtype(&self) -> DType {
        match self {
            ValuesMut::F32(_) => DType::F32,
            ValuesMut::F64(_) => DType::F64,
            ValuesMut::I32(_) => DType::I32,
            ValuesMut::U32(_) => DType::U32,
            ValuesMut::U8(_) => DType::U8,
        }
    }

    /// Row `j` of `n` rows (`width` values each, little-endian bytes from
    /// `row(j)`) into values `j * width..`, for every `j`. One dispatch on
    /// the dtype per column, then a loop the compiler specialises: a call
    /// per row and column cost a third of a wasm32 batch.
    #[inline(always)]
    fn read_rows<'a>(&mut self, n: usize, width: usize, row: impl Fn(usize) -> &'a [u8]) {
        macro_rules! rows4 {
            ($v:expr, $t:ty) => {
                for j in 0..n {
                    read_words(&mut $v[j * width..(j + 1) * width], row(j), <$t>::from_le_bytes);
                }
            };
        }
        match self {
            ValuesMut::F32(v) => rows4!(v, f32),
            ValuesMut::I32(v) => rows4!(v, i32),
            ValuesMut::U32(v) => rows4!(v, u32),
            ValuesMut::F64(v) => {
                for j in 0..n {
                    for (x, b) in v[j * width..(j + 1) * width].iter_mut().zip(row(j).chunks_exact(8)) {
                        *x = f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
                    }
                }
            }
            ValuesMut::U8(v) => {
                for j in 0..n {
                    v[j * width..(j + 1) * width].copy_from_slice(row(j));
                }
            }
        }
    }
}

/// 4-byte little-endian values from `bytes` into `out`. Columns of 1 to 4
/// values (the common case: an action, a reward, a small observation) take
/// a loop of constant length, which compiles to plain loads and stores: the
/// general loop becomes a `memory.copy` on wasm32, which V8 runs as a call
/// costing more than a copy of a few bytes.
#[inline(always)]
fn read_words<T>(out: &mut [T], bytes: &[u8], from: fn([u8; 4]) -> T) {
    #[inline(always)]
    fn fixed<T, const N: usize>(out: &mut [T], bytes: &[u8], from: fn([u8; 4]) -> T) {
        for (x, b) in out[..N].iter_mut().zip(bytes[..4 * N].chunks_exact(4)) {
            *x = from([b[0], b[1], b[2], b[3]]);
        }
    }
    match bytes.len() {
        4 => fixed::<T, 1>(out, bytes, from),
        8 => fixed::<T, 2>(out, bytes, from),
        12 => fixed::<T, 3>(out, bytes, from),
        16 => fixed::<T, 4>(out, bytes, from),
        _ => {
            for (x, b) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                *x = from([b[0], b[1], b[2], b[3]]);
            }
        }
    }
}

/// What was wrong with a row or batch given to a row storage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SchemaProblem {
    /// The call gave `found` columns where the schema has `expected`.
    ColumnCount {
        /// Columns in the schema.
        expected: usize,
        /// Columns given.
        found: usize,
    },
    /// A column's slice has the wrong number of values.
    Length {
        /// Position of the column in the schema.
        column: usize,
        /// Values it needs (rows times the column's width).
        expected: usize,
        /// Values given.
        found: usize,
    },
    /// An output slice is not of the column's dtype.
    DType {
        /// Position of the column in the schema.
        column: usize,
        /// The column's dtype.
        expected: DType,
        /// The slice's dtype.
        found: DType,
    },
    /// A value the column's dtype cannot hold.
    NotRepresentable {
        /// Position of the column in the schema.
        column: usize,
        /// Position of the value in the column's slice.
        position: usize,
        /// The value (as an f64).
        value: f64,
    },
    /// A named column of the schema was not given (adapters that take columns by name).
    Missing {
        /// Position of the column in the schema.
        column: usize,
    },
    /// A name given that is not a column of the schema (adapters that take columns by name).
    Unknown {
        /// Position of the name in the caller's input.
        position: usize,
    },
}

impl core::fmt::Display for SchemaProblem {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            SchemaProblem::ColumnCount { expected, found } => {
                write!(f, "{found} columns given, the schema has {expected}")
            }
            SchemaProblem::Length { column, expected, found } => {
                write!(f, "column {column} needs {expected} values, {found} given")
            }
            SchemaProblem::DType { column, expected, found } => {
                write!(f, "column {column} is {}, the output slice {}", expected.name(), found.name())
            }
            SchemaProblem::NotRepresentable { column, position, value } => {
                write!(f, "value {value} at position {position} does not fit column {column}'s dtype")
            }
            SchemaProblem::Missing { column } => write!(f, "column {column} is missing"),
            SchemaProblem::Unknown { position } => write!(f, "name {position} is not a column of the schema"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Column {
    dtype: DType,
    /// Byte range of the name in `names`.
    name: (u32, u32),
    shape: [u32; MAX_DIMS],
    dims: u8,
    /// Values per row.
    width: usize,
    /// Byte offset within a row.
    offset: usize,
}

/// A column of a [`RowStorage`]'s schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnInfo<'a> {
    /// Its name.
    pub name: &'a str,
    /// Its dtype.
    pub dtype: DType,
    /// Values per row: the product of the shape.
    pub width: usize,
    shape: [u32; MAX_DIMS],
    dims: u8,
}

impl ColumnInfo<'_> {
    /// The shape's dimensions, in order.
    pub fn shape(&self) -> impl Iterator<Item = usize> + '_ {
        self.shape[..usize::from(self.dims)].iter().map(|&d| d as usize)
    }
}

/// A ring of `capacity` rows in named, fixed-width columns; see the
/// [module doc](self).
#[derive(Clone, PartialEq)]
pub struct RowStorage<S: Storage> {
    capacity: usize,
    row_bytes: usize,
    columns: heapless::Vec<Column, MAX_COLUMNS>,
    names: S::U8,
    /// `len * row_bytes` bytes, row after row.
    data: S::U8,
}

impl<S: Storage> core::fmt::Debug for RowStorage<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut d = f.debug_struct("RowStorage");
        d.field("capacity", &self.capacity).field("len", &self.len());
        for c in self.columns() {
            d.field(c.name, &c.dtype);
        }
        d.finish()
    }
}

/// Largest name, in bytes.
const MAX_NAME: usize = 255;

/// `x` as a value of `dtype`, little-endian into `out`; `false` where
/// `dtype` cannot hold it.
fn encode(dtype: DType, x: f64, out: &mut [u8]) -> bool {
    let int_in = |lo: f64, hi: f64| x.is_finite() && libm::trunc(x) == x && x >= lo && x <= hi;
    match dtype {
        DType::F64 => out.copy_from_slice(&x.to_le_bytes()),
        DType::F32 => {
            // One NaN, whatever the payload: casts of NaN differ between targets.
            let v = if x.is_nan() { f32::NAN } else { x as f32 };
            if v.is_infinite() && x.is_finite() {
                return false;
            }
            out.copy_from_slice(&v.to_le_bytes());
        }
        DType::I32 if int_in(-2_147_483_648.0, 2_147_483_647.0) => out.copy_from_slice(&(x as i32).to_le_bytes()),
        DType::U32 if int_in(0.0, 4_294_967_295.0) => out.copy_from_slice(&(x as u32).to_le_bytes()),
        DType::U8 if int_in(0.0, 255.0) => out[0] = x as u8,
        _ => return false,
    }
    true
}

fn mismatch(problem: SchemaProblem) -> Error {
    Error::SchemaMismatch { problem }
}

impl<S: Storage> RowStorage<S> {
    /// An empty ring of `capacity` rows with the given columns.
    ///
    /// Errors: [`Error::InvalidConfig`] for capacity 0 or at least 2^32, no
    /// columns or more than [`MAX_COLUMNS`], an empty, repeated or too long
    /// (over 255 bytes) name, a shape of more than [`MAX_DIMS`] dimensions
    /// or with a dimension 0, or rows whose bytes overflow `usize`;
    /// [`Error::StorageTooSmall`] when `Fixed<N>` cannot hold
    /// `capacity * row_bytes` bytes or the names; [`Error::AllocationFailed`]
    /// when the heap cannot hold the names.
    ///
    /// ```
    /// use adasample::rows::{ColumnSpec, DType, RowStorage};
    /// use adasample::storage::Fixed;
    /// let cols = [ColumnSpec::new("x", DType::F64, &[2])];
    /// assert!(RowStorage::<Fixed<160>>::new(10, &cols).is_ok()); // 10 rows of 16 bytes
    /// assert!(RowStorage::<Fixed<159>>::new(10, &cols).is_err());
    /// assert!(RowStorage::<Fixed<160>>::new(10, &[ColumnSpec::new("x", DType::F64, &[0])]).is_err());
    /// ```
    pub fn new(capacity: usize, columns: &[ColumnSpec<'_>]) -> Result<Self> {
        ensure(capacity >= 1, "capacity", "at least 1")?;
        ensure(capacity <= u32::MAX as usize, "capacity", "at most 2^32 - 1")?;
        ensure(!columns.is_empty(), "columns", "at least one column")?;
        ensure(columns.len() <= MAX_COLUMNS, "columns", "at most 32 columns")?;
        let mut table = heapless::Vec::<Column, MAX_COLUMNS>::new();
        let (mut row_bytes, mut name_bytes) = (0usize, 0usize);
        for (k, c) in columns.iter().enumerate() {
            ensure(!c.name.is_empty() && c.name.len() <= MAX_NAME, "columns", "names of 1 to 255 bytes")?;
            ensure(columns[..k].iter().all(|o| o.name != c.name), "columns", "distinct names")?;
            ensure(c.shape.len() <= MAX_DIMS, "columns", "shapes of at most 8 dimensions")?;
            ensure(
                c.shape.iter().all(|&d| d >= 1 && d <= u32::MAX as usize),
                "columns",
                "dimensions of 1 to 2^32 - 1",
            )?;
            let width = c.shape.iter().try_fold(1usize, |w, &d| w.checked_mul(d));
            let bytes = width.and_then(|w| w.checked_mul(c.dtype.size()));
            let total = bytes.and_then(|b| b.checked_add(row_bytes));
            let (Some(width), Some(total)) = (width, total) else {
                return Err(Error::InvalidConfig { field: "columns", expected: "rows of at most usize::MAX bytes" });
            };
            let mut shape = [0u32; MAX_DIMS];
            for (s, &d) in shape.iter_mut().zip(c.shape) {
                *s = d as u32;
            }
            let name = (name_bytes as u32, c.name.len() as u32);
            // Cannot fail: at most MAX_COLUMNS, checked above.
            let _ =
                table.push(Column { dtype: c.dtype, name, shape, dims: c.shape.len() as u8, width, offset: row_bytes });
            row_bytes = total;
            name_bytes += c.name.len();
        }
        let Some(data_bytes) = row_bytes.checked_mul(capacity) else {
            return Err(Error::InvalidConfig {
                field: "capacity",
                expected: "capacity * row bytes at most usize::MAX",
            });
        };
        crate::storage::check_fits::<S>(data_bytes)?;
        crate::storage::check_fits::<S>(name_bytes)?;
        let mut names = <S::U8 as Buffer<u8>>::EMPTY;
        if !names.try_reserve(name_bytes) {
            return Err(Error::AllocationFailed { bytes: name_bytes });
        }
        for c in columns {
            names.try_extend(c.name.as_bytes());
        }
        Ok(RowStorage { capacity, row_bytes, columns: table, names, data: <S::U8 as Buffer<u8>>::EMPTY })
    }

    /// Number of rows the ring holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Rows written so far (slots `0..len()` are readable).
    pub fn len(&self) -> usize {
        self.data.as_ref().len() / self.row_bytes
    }

    /// True before the first write.
    pub fn is_empty(&self) -> bool {
        self.data.as_ref().is_empty()
    }

    /// Bytes per row.
    ///
    /// ```
    /// use adasample::rows::{ColumnSpec, DType, RowStorage, Values};
    /// use adasample::storage::Heap;
    /// let mut rows: RowStorage<Heap> =
    ///     RowStorage::new(8, &[ColumnSpec::new("a", DType::U8, &[]), ColumnSpec::new("b", DType::F32, &[])])?;
    /// rows.write(0, &[Values::U8(&[7]), Values::F32(&[1.0])])?;
    /// assert_eq!((rows.row_bytes(), rows.as_bytes()), (5, &[7, 0, 0, 0x80, 0x3f][..]));
    /// rows.clear();
    /// assert!(rows.is_empty() && rows.capacity() == 8);
    /// # Ok::<(), adasample::Error>(())
    /// ```
    pub fn row_bytes(&self) -> usize {
        self.row_bytes
    }

    /// Forgets every row (the schema stays); heap memory is kept for reuse.
    pub fn clear(&mut self) {
        self.data.clear();
    }

    /// The schema's columns, in order.
    ///
    /// ```
    /// use adasample::rows::{ColumnSpec, DType, RowStorage};
    /// use adasample::storage::Heap;
    /// let rows: RowStorage<Heap> = RowStorage::new(4, &[ColumnSpec::new("frames", DType::U8, &[4, 84, 84])])?;
    /// let c = rows.columns().next().unwrap();
    /// assert_eq!((c.name, c.width, c.shape().collect::<Vec<_>>()), ("frames", 28224, vec![4, 84, 84]));
    /// assert_eq!(rows.column_index("frames"), Some(0));
    /// # Ok::<(), adasample::Error>(())
    /// ```
    pub fn columns(&self) -> impl ExactSizeIterator<Item = ColumnInfo<'_>> + '_ {
        self.columns.iter().map(move |c| ColumnInfo {
            name: self.name(c),
            dtype: c.dtype,
            width: c.width,
            shape: c.shape,
            dims: c.dims,
        })
    }

    fn name(&self, c: &Column) -> &str {
        let (at, len) = (c.name.0 as usize, c.name.1 as usize);
        // The bytes were copied from a `&str`, whole.
        core::str::from_utf8(&self.names.as_ref()[at..at + len]).unwrap_or("")
    }

    /// The position of the column called `name`.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| self.name(c) == name)
    }

    /// Checks `count` rows of input (each column `count * width` values)
    /// against the schema, writing nothing.
    ///
    /// ```
    /// use adasample::rows::{ColumnSpec, DType, RowStorage, SchemaProblem, Values};
    /// use adasample::{storage::Heap, Error};
    /// let rows: RowStorage<Heap> = RowStorage::new(4, &[ColumnSpec::new("a", DType::U8, &[])])?;
    /// assert_eq!(rows.check_rows(2, &[Values::F64(&[1.0, 256.0])]), Err(Error::SchemaMismatch {
    ///     problem: SchemaProblem::NotRepresentable { column: 0, position: 1, value: 256.0 },
    /// }));
    /// # Ok::<(), adasample::Error>(())
    /// ```
    pub fn check_rows(&self, count: usize, values: &[Values<'_>]) -> Result<()> {
        if values.len() != self.columns.len() {
            return Err(mismatch(SchemaProblem::ColumnCount { expected: self.columns.len(), found: values.len() }));
        }
        let mut scratch = [0u8; 8];
        for (column, (c, v)) in self.columns.iter().zip(values).enumerate() {
            let expected = c.width.saturating_mul(count);
            if v.len() != expected {
                return Err(mismatch(SchemaProblem::Length { column, expected, found: v.len() }));
            }
            if v.dtype() == c.dtype {
                continue;
            }
            for position in 0..v.len() {
                let value = v.get(position);
                if !encode(c.dtype, value, &mut scratch[..c.dtype.size()]) {
                    return Err(mismatch(SchemaProblem::NotRepresentable { column, position, value }));
                }
            }
        }
        Ok(())
    }

    /// Makes room for rows up to `slot` (`slot <= len()`, `slot < capacity`):
    /// after `Ok`, [`put`](Self::put) at `slot` cannot fail.
    pub(crate) fn reserve_slot(&mut self, slot: usize) -> Result<()> {
        let len = self.len();
        if slot >= self.capacity || slot > len {
            return Err(Error::IndexOutOfRange { index: slot, len: len.min(self.capacity - 1) + 1 });
        }
        if slot == len && !self.data.try_reserve(self.row_bytes) {
            return Err(Error::AllocationFailed { bytes: self.row_bytes });
        }
        Ok(())
    }

    /// Reserves room for `more` rows beyond `len()` (at most up to the capacity).
    pub(crate) fn reserve_rows(&mut self, more: usize) -> Result<()> {
        let rows = more.min(self.capacity - self.len());
        let bytes = rows.saturating_mul(self.row_bytes);
        if self.data.try_reserve(bytes) {
            Ok(())
        } else {
            Err(Error::AllocationFailed { bytes })
        }
    }

    /// Writes row `row` of checked input (see [`check_rows`](Self::check_rows))
    /// at `slot`, reserved before ([`reserve_slot`](Self::reserve_slot)).
    pub(crate) fn put(&mut self, slot: usize, values: &[Values<'_>], row: usize) {
        let rb = self.row_bytes;
        if slot == self.len() {
            // Reserved: a row of zeros, overwritten below.
            const ZEROS: [u8; 256] = [0; 256];
            let mut left = rb;
            while left > 0 {
                let k = left.min(ZEROS.len());
                self.data.try_extend(&ZEROS[..k]);
                left -= k;
            }
        }
        let bytes = &mut self.data.as_mut()[slot * rb..(slot + 1) * rb];
        for (c, v) in self.columns.iter().zip(values) {
            let out = &mut bytes[c.offset..c.offset + c.width * c.dtype.size()];
            if v.dtype() == c.dtype {
                v.copy_le(row * c.width, c.width, out);
            } else {
                for (k, o) in out.chunks_exact_mut(c.dtype.size()).enumerate() {
                    encode(c.dtype, v.get(row * c.width + k), o);
                }
            }
        }
    }

    /// Writes one row at `slot`: over an existing row (`slot < len()`) or as
    /// the next (`slot == len() < capacity`). Errors, with nothing written:
    /// [`Error::SchemaMismatch`] (see [`check_rows`](Self::check_rows)),
    /// [`Error::IndexOutOfRange`] for any other slot,
    /// [`Error::AllocationFailed`].
    pub fn write(&mut self, slot: usize, values: &[Values<'_>]) -> Result<()> {
        self.check_rows(1, values)?;
        self.reserve_slot(slot)?;
        self.put(slot, values, 0);
        Ok(())
    }

    /// Checks output slices for a batch of `n` rows: one per column, of
    /// the column's dtype, `n * width` values each.
    ///
    /// ```
    /// use adasample::rows::{ColumnSpec, DType, RowStorage, ValuesMut};
    /// use adasample::storage::Heap;
    /// let rows: RowStorage<Heap> = RowStorage::new(8, &[ColumnSpec::new("xy", DType::F32, &[2])])?;
    /// assert!(rows.check_out(3, &[ValuesMut::F32(&mut [0.0; 6])]).is_ok());
    /// assert!(rows.check_out(3, &[ValuesMut::F32(&mut [0.0; 5])]).is_err());
    /// # Ok::<(), adasample::Error>(())
    /// ```
    pub fn check_out(&self, n: usize, out: &[ValuesMut<'_>]) -> Result<()> {
        if out.len() != self.columns.len() {
            return Err(mismatch(SchemaProblem::ColumnCount { expected: self.columns.len(), found: out.len() }));
        }
        for (column, (c, o)) in self.columns.iter().zip(out).enumerate() {
            if o.dtype() != c.dtype {
                return Err(mismatch(SchemaProblem::DType { column, expected: c.dtype, found: o.dtype() }));
            }
            let expected = c.width.saturating_mul(n);
            if o.len() != expected {
                return Err(mismatch(SchemaProblem::Length { column, expected, found: o.len() }));
            }
        }
        Ok(())
    }

    /// Copies the rows at `slots` into `out`, one slice per column (row `j`
    /// of the batch at values `j * width..`), in one pass over the batch.
    /// Errors, with nothing written: [`Error::SchemaMismatch`] for slices
    /// that do not fit (see [`check_out`](Self::check_out)),
    /// [`Error::IndexOutOfRange`] for a slot not written.
    pub fn gather(&self, slots: &[u32], out: &mut [ValuesMut<'_>]) -> Result<()> {
        self.check_out(slots.len(), out)?;
        let len = self.len();
        if let Some(&s) = slots.iter().find(|&&s| s as usize >= len) {
            return Err(Error::IndexOutOfRange { index: s as usize, len });
        }
        self.gather_unchecked(slots.len(), |j| slots[j] as usize, out);
        Ok(())
    }

    /// [`gather`](Self::gather) of checked slots and slices.
    pub(crate) fn gather_unchecked(&self, n: usize, slot: impl Fn(usize) -> usize, out: &mut [ValuesMut<'_>]) {
        let (data, rb) = (self.data.as_ref(), self.row_bytes);
        // A row of a large ring is a cache miss. Touching each row's first and
        // last byte in a tight loop first keeps many misses in flight at once;
        // the copies below then hit the cache.
        let mut touch = 0u8;
        for j in 0..n {
            let s = slot(j);
            touch ^= data[s * rb] ^ data[(s + 1) * rb - 1];
        }
        core::hint::black_box(touch);
        for (c, o) in self.columns.iter().zip(out.iter_mut()) {
            let (at, len) = (c.offset, c.width * c.dtype.size());
            o.read_rows(n, c.width, |j| {
                let start = slot(j) * rb + at;
                &data[start..start + len]
            });
        }
    }

    /// Replaces every row with `bytes` (a whole number of rows, at most
    /// the capacity, as [`as_bytes`](Self::as_bytes) gives them), for a
    /// restore. Errors, with nothing changed: [`Error::LengthMismatch`],
    /// [`Error::AllocationFailed`].
    #[cfg(feature = "serde")]
    pub(crate) fn restore_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        let rows = bytes.len() / self.row_bytes;
        if !bytes.len().is_multiple_of(self.row_bytes) || rows > self.capacity {
            return Err(Error::LengthMismatch {
                expected: rows.min(self.capacity) * self.row_bytes,
                found: bytes.len(),
            });
        }
        if !self.data.try_reserve(bytes.len()) {
            return Err(Error::AllocationFailed { bytes: bytes.len() });
        }
        self.data.clear();
        self.data.try_extend(bytes);
        Ok(())
    }

    /// The whole data, `len() * row_bytes()` bytes, row after row, little-endian.
    pub fn as_bytes(&self) -> &[u8] {
        self.data.as_ref()
    }
}
