//! The npm package `adasample`: a thin wasm-bindgen layer over the `adasample`
//! core. No sampling math lives here: this file converts JS values to core
//! types and back, and core errors to thrown `Error`s whose `code` is the Rust
//! variant's name. Every input is checked before it reaches the core, and the
//! core validates before mutating, so a thrown error leaves the object as it
//! was, and no input reaches a panic (which would poison the instance).
//!
//! No resource exhaustion traps either: every buffer this layer allocates in
//! wasm memory is reserved fallibly (`AllocationFailed`), batch sizes are
//! checked against the sampler before any allocation, JS calls that can throw
//! (JSON, TextEncoder, large typed arrays) go through `catch` bindings, and
//! `PrioritizedReplayBuffer`'s items stay JS values in a JS array: they are
//! never copied into wasm memory, not even by `snapshot()`.

use adasample::adaptive::{AdaptiveBatchSampler as CoreAdaptive, AdaptiveConfig, AdaptiveMode, WeightTarget};
use adasample::iw::{self, IwMode, IwSftConfig};
use adasample::per::{Draw, Key, PerConfig, PerKind, PrioritizedSelector};
use adasample::reward::{RewardConfig, RewardWeightedSampler as CoreReward};
use adasample::rows::{ColumnSpec, DType, RowStorage, SchemaProblem, Values, ValuesMut, MAX_DIMS};
use adasample::select::Selector;
use adasample::snapshot::{table_selector_kind, SelectorKind};
use adasample::storage::Heap;
use adasample::table::ReplayTable;
use adasample::tree::SumTree as CoreTree;
use adasample::uniform::{UniformConfig, UniformSelector};
use adasample::Error;
use js_sys::{Array, Float64Array, Object, Reflect, Uint32Array, Uint8Array};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** Thrown by every method on bad input; `code` is the Rust error variant. */
export interface AdasampleError extends Error {
  code: 'InvalidPriority' | 'IndexOutOfRange' | 'Empty' | 'InvalidConfig' | 'InvalidArgument'
      | 'LengthMismatch' | 'BatchTooLarge' | 'StorageTooSmall' | 'CorruptSnapshot'
      | 'UnsupportedSnapshotVersion' | 'ItemNotSerializable' | 'AllocationFailed'
      | 'BufferFull' | 'ValueTooLarge' | 'ResultOverflow' | 'NotConfigured' | 'InvalidSize'
      | 'SchemaMismatch';
}
/** A column's element type. */
export type DType = 'float32' | 'float64' | 'int32' | 'uint32' | 'uint8';
/** The typed array of each dtype. */
export type ColumnArray = Float32Array | Float64Array | Int32Array | Uint32Array | Uint8Array;
export interface ColumnOptions {
  /** The shape of one row's value; default [] (one value). */
  shape?: number[];
  /** Default 'float32'. */
  dtype?: DType;
}
export interface ReplayBufferOptions {
  /** Number of rows of the ring (>= 1). */
  capacity: number;
  /** The schema: one entry per column, in the order given. */
  columns: Record<string, ColumnOptions>;
  /** Default 'proportional'. */
  kind?: 'proportional' | 'rank' | 'uniform';
  /** As PerOptions; 'uniform' ignores alpha, beta, betaFinal, betaSteps and epsilon. */
  alpha?: number;
  beta?: number;
  betaFinal?: number;
  betaSteps?: number;
  epsilon?: number;
  seed?: number;
  /** Distinct rows in a batch. Default false. */
  withoutReplacement?: boolean;
}
export interface ReplaySample {
  indices: Uint32Array;
  generations: Uint32Array;
  weights: Float64Array;
  probabilities: Float64Array;
  /** One typed array per column, batchSize * prod(shape) values, row j = draw j. */
  columns: Record<string, ColumnArray>;
}
export type Numbers = Float64Array | Float32Array | Int32Array | Uint32Array | Uint16Array | Int16Array | Uint8Array | Int8Array | number[];
export interface PerOptions {
  /** Number of slots of the ring buffer (>= 1). */
  capacity: number;
  /** Prioritization exponent in [0, 1]. Default 0.6 (rank: 0.7). */
  alpha?: number;
  /** Importance-sampling exponent at the first sample, in [0, 1]. Default 0.4 (rank: 0.5). */
  beta?: number;
  /** beta after `betaSteps` samples. Default 1. */
  betaFinal?: number;
  /** Samples over which beta moves linearly to betaFinal; 0 or absent: constant. */
  betaSteps?: number;
  /** Added to |TD error| before the exponent. Default 1e-6. */
  epsilon?: number;
  /** Seed of the buffer's generator (integer). Default 0. */
  seed?: number;
  /** Rank-based instead of proportional prioritization. Default false. */
  rank?: boolean;
}
export interface PerSample<T = any> {
  indices: Uint32Array;
  weights: Float64Array;
  probabilities: Float64Array;
  generations: Uint32Array;
  items: T[];
}
export interface AdaptiveOptions {
  datasetSize: number;
  /** Score step size in (0, 1]. Default 0.1. */
  learningRate?: number;
  /** Default 'ema'. */
  mode?: 'ema' | 'adaboost' | 'ohem';
  seed?: number;
  /** Per-example prior q_i in (0, 1], one per example (for example the
   *  smallest class size over the example's class size); not with 'ohem'. */
  prior?: Numbers;
  /** What the importance weights correct toward, once a prior is set:
   *  'uniform' (the dataset's own objective) or 'prior' (the re-balanced
   *  one). Default 'uniform'. */
  target?: 'uniform' | 'prior';
}
export interface RewardOptions {
  /** Default 1. */
  temperature?: number;
  /** AWR weight clip w_max (>= 1); RWR weights are at most 1, so it does not bind here. Default 20. */
  maxWeight?: number;
  seed?: number;
}
export interface IndexSample {
  indices: Uint32Array;
  weights: Float64Array;
}
export interface IwSftOptions {
  /** Policy log-probabilities, row-major [sequences x seqLen]. */
  policyLogProbs: Numbers;
  /** Reference-model log-probabilities, same shape. */
  refLogProbs: Numbers;
  /** 1/true for valid tokens, 0/false for prompt or padding; absent: all valid. */
  mask?: Numbers | boolean[];
  seqLen: number;
  /** Default 1; the log ratio is divided by it. */
  temperature?: number;
  /** Default 'sequence'. */
  mode?: 'sequence' | 'token';
}
"#;

// ------------------------------------------------------------------ errors

// Cold and out of line: one copy, not one per call site (2 KB of the package).
#[cold]
#[inline(never)]
fn js_error(code: &str, message: &str) -> JsValue {
    let e = js_sys::Error::new(message);
    // Setting a property on a fresh Error object cannot fail.
    let _ = Reflect::set(&e, &JsValue::from_str("code"), &JsValue::from_str(code));
    e.into()
}

// Cold and out of line: one copy, not one per call site (2 KB of the package).
#[cold]
#[inline(never)]
fn throw(e: Error) -> JsValue {
    js_error(e.code(), &e.to_string())
}

type JsResult<T> = Result<T, JsValue>;

trait OrThrow<T> {
    fn or_throw(self) -> JsResult<T>;
}

impl<T> OrThrow<T> for adasample::Result<T> {
    fn or_throw(self) -> JsResult<T> {
        self.map_err(throw)
    }
}

// Cold and out of line: one copy, not one per call site (2 KB of the package).
#[cold]
#[inline(never)]
fn bad_argument(name: &'static str, position: usize, value: f64) -> JsValue {
    throw(Error::InvalidArgument { name, position, value })
}

// ------------------------------------------------------------------ conversions

/// `value[key]`, `undefined` where there is none (or `value` is no object).
fn field(value: &JsValue, key: &str) -> JsValue {
    Reflect::get(value, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// Checks that `value` is a plain options object with no key outside `known`.
fn check_keys(what: &str, value: &JsValue, known: &[&str]) -> JsResult<()> {
    if !value.is_object() || Array::is_array(value) {
        return Err(js_error("InvalidConfig", &format!("{what}: expected an options object")));
    }
    for key in Object::keys(value.unchecked_ref::<Object>()).iter() {
        let k = key.as_string().unwrap_or_default();
        if !known.contains(&k.as_str()) {
            return Err(js_error(
                "InvalidConfig",
                &format!("{what}: unknown option `{k}` (known: {})", known.join(", ")),
            ));
        }
    }
    Ok(())
}

/// An options object, every field checked: unknown keys and wrong types are
/// `InvalidConfig`.
fn options<T: DeserializeOwned>(what: &str, value: JsValue, known: &[&str]) -> JsResult<T> {
    check_keys(what, &value, known)?;
    serde_wasm_bindgen::from_value(value).map_err(|e| js_error("InvalidConfig", &format!("{what}: {e}")))
}

/// Example indices as `usize`.
fn indices_usize(indices: &JsValue) -> JsResult<Vec<usize>> {
    let slots = indices_u32("indices", indices)?;
    let mut idx = try_vec::<usize>(slots.len())?;
    for (o, &i) in idx.iter_mut().zip(&slots) {
        *o = i as usize;
    }
    Ok(idx)
}

/// `len` zeroed elements in wasm memory, or `AllocationFailed` (never a trap).
fn try_vec<T: Clone + Default>(len: usize) -> JsResult<Vec<T>> {
    let mut v = Vec::new();
    if v.try_reserve_exact(len).is_err() {
        return Err(throw(Error::AllocationFailed { bytes: len.saturating_mul(std::mem::size_of::<T>()) }));
    }
    v.resize(len, T::default());
    Ok(v)
}

/// `items` in a fallibly reserved vector (`AllocationFailed`, never a
/// trap); for iterators that know their length (slices, arrays, chains of them).
fn try_collect<T>(items: impl Iterator<Item = T>) -> JsResult<Vec<T>> {
    let mut v = Vec::new();
    let len = items.size_hint().0;
    if v.try_reserve_exact(len).is_err() {
        return Err(throw(Error::AllocationFailed { bytes: len.saturating_mul(std::mem::size_of::<T>()) }));
    }
    v.extend(items);
    Ok(v)
}

/// Numbers from a plain array or a numeric typed array (BigInt arrays and
/// non-numbers are refused), copied into fallibly reserved wasm memory.
fn numbers(name: &'static str, value: &JsValue) -> JsResult<Vec<f64>> {
    if let Some(a) = value.dyn_ref::<Float64Array>() {
        let mut v = try_vec(a.length() as usize)?;
        a.copy_to(&mut v);
        return Ok(v);
    }
    if Array::is_array(value) {
        let a: &Array = value.unchecked_ref();
        let mut v = try_vec(a.length() as usize)?;
        for (k, (x, item)) in v.iter_mut().zip(a.iter()).enumerate() {
            *x = item.as_f64().ok_or_else(|| bad_argument(name, k, f64::NAN))?;
        }
        return Ok(v);
    }
    let typed = js_sys::ArrayBuffer::is_view(value)
        && !value.is_instance_of::<js_sys::DataView>()
        && !value.is_instance_of::<js_sys::BigInt64Array>()
        && !value.is_instance_of::<js_sys::BigUint64Array>();
    if typed {
        // Converting to float64 on the JS side makes a typed array 8 bytes a
        // value: through a `catch` constructor, so a RangeError is a code.
        let f = construct("Float64Array", &Array::of1(value))?;
        return numbers(name, &f);
    }
    Err(js_error("InvalidArgument", &format!("{name}: expected an array or a typed array of numbers")))
}

/// `new globalThis[name](...args)`, a JS exception (a RangeError for a size
/// the engine refuses, say) returned as `AllocationFailed`, not thrown
/// through the module.
fn construct(name: &str, args: &Array) -> JsResult<JsValue> {
    let ctor = Reflect::get(&js_sys::global(), &JsValue::from_str(name))
        .ok()
        .and_then(|c| c.dyn_into::<js_sys::Function>().ok())
        .ok_or_else(|| {
            js_error(
                "InvalidConfig",
                "this runtime lacks a standard global (TextEncoder, TextDecoder or a typed array)",
            )
        })?;
    Reflect::construct(&ctor, args).map_err(|e| caused("AllocationFailed", "the engine refused an allocation: ", &e))
}

/// Our error for a JS exception: `context` and the exception's message
/// (joined on the JS side), the exception itself as the standard `cause`.
#[cold]
#[inline(never)]
fn caused(code: &str, context: &str, cause: &JsValue) -> JsValue {
    let e = js_error(code, context);
    let detail =
        cause.dyn_ref::<js_sys::Error>().map(|c| c.message()).unwrap_or_else(|| "a non-Error value was thrown".into());
    let _ = Reflect::set(&e, &JsValue::from_str("message"), &js_sys::JsString::from(context).concat(&detail));
    let _ = Reflect::set(&e, &JsValue::from_str("cause"), cause);
    e
}

/// `target.method(arg)` through a `catch` binding.
fn call(target: &JsValue, method: &str, arg: &JsValue) -> Result<JsValue, JsValue> {
    let f: js_sys::Function = Reflect::get(target, &JsValue::from_str(method))?.dyn_into()?;
    f.call1(target, arg)
}

/// A non-negative integer below `limit`.
fn integer(name: &'static str, position: usize, v: f64, limit: f64) -> JsResult<u64> {
    if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v < limit {
        Ok(v as u64)
    } else {
        Err(bad_argument(name, position, v))
    }
}

/// A number argument. Numbers come in as any JS value: wasm-bindgen's glue
/// would turn a string into a number silently, and throw a `TypeError`
/// without a `code` for a BigInt.
#[inline(never)]
fn num(name: &'static str, v: &JsValue) -> JsResult<f64> {
    v.as_f64().ok_or_else(|| not_a_number(name))
}

#[cold]
#[inline(never)]
fn not_a_number(name: &'static str) -> JsValue {
    js_error("InvalidArgument", &format!("{name}: expected a number"))
}

const U32_LIMIT: f64 = 4_294_967_296.0;

/// A `sample(batchSize)` argument: an integer in `[0, MAX_BATCH)`.
fn batch_size_of(v: &JsValue) -> JsResult<usize> {
    Ok(integer("batchSize", 0, num("batchSize", v)?, MAX_BATCH)? as usize)
}
/// Largest batch the package draws in one call (guards against allocating
/// for an absurd size, which would abort the instance).
const MAX_BATCH: f64 = 16_777_216.0;

fn indices_u32(name: &'static str, value: &JsValue) -> JsResult<Vec<u32>> {
    // What `sample` returns comes back as it is: one copy, no conversion.
    if let Some(a) = value.dyn_ref::<Uint32Array>() {
        let mut v = try_vec(a.length() as usize)?;
        a.copy_to(&mut v);
        return Ok(v);
    }
    let values = numbers(name, value)?;
    let mut out = try_vec::<u32>(values.len())?;
    for (k, (o, &v)) in out.iter_mut().zip(&values).enumerate() {
        *o = integer(name, k, v, U32_LIMIT)? as u32;
    }
    Ok(out)
}

/// The keys of the result objects.
const KEYS: [&str; 6] = ["indices", "weights", "probabilities", "generations", "items", "columns"];
const INDICES: usize = 0;
const WEIGHTS: usize = 1;
const PROBABILITIES: usize = 2;
const GENERATIONS: usize = 3;
const ITEMS: usize = 4;
const COLUMNS: usize = 5;

thread_local! {
    // Made once, as JS strings: a key then crosses to JS once, not decoded
    // again on every call (about 1 us per key and call). A fixed table, not
    // wasm-bindgen's interning, whose hash map cost the package 2 KB gzipped.
    static KEY_VALUES: [JsValue; 6] = KEYS.map(JsValue::from_str);
}

fn set(obj: &Object, key: usize, value: &JsValue) {
    KEY_VALUES.with(|keys| {
        // Defining a data property on a plain new object cannot fail.
        let _ = Reflect::set(obj, &keys[key], value);
    });
}

fn index_sample(indices: &[usize], weights: &[f64]) -> JsResult<JsValue> {
    let out = Object::new();
    let mut idx = try_vec::<u32>(indices.len())?;
    for (o, &i) in idx.iter_mut().zip(indices) {
        *o = i as u32;
    }
    set(&out, INDICES, &Uint32Array::from(idx.as_slice()).into());
    set(&out, WEIGHTS, &Float64Array::from(weights).into());
    Ok(out.into())
}

// ------------------------------------------------------------------ SumTree

/// A sum tree (with a min tree) over `capacity` non-negative priorities.
#[wasm_bindgen]
pub struct SumTree {
    inner: CoreTree<Heap>,
}

#[wasm_bindgen]
impl SumTree {
    /// A tree of `capacity` slots, all 0.
    #[wasm_bindgen(constructor)]
    pub fn new(#[wasm_bindgen(unchecked_param_type = "number")] capacity: JsValue) -> JsResult<SumTree> {
        let capacity = integer("capacity", 0, num("capacity", &capacity)?, U32_LIMIT)? as usize;
        Ok(SumTree { inner: CoreTree::new(capacity).or_throw()? })
    }

    /// Sets slot `i` to priority `p` (finite, >= 0).
    pub fn set(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "number")] i: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] p: JsValue,
    ) -> JsResult<()> {
        let i = integer("index", 0, num("index", &i)?, U32_LIMIT)? as usize;
        self.inner.set(i, num("priority", &p)?).or_throw()
    }

    /// The priority of slot `i`.
    pub fn get(&self, #[wasm_bindgen(unchecked_param_type = "number")] i: JsValue) -> JsResult<f64> {
        let i = integer("index", 0, num("index", &i)?, U32_LIMIT)? as usize;
        self.inner.get(i).or_throw()
    }

    /// Sum of all priorities.
    pub fn total(&self) -> f64 {
        self.inner.total()
    }

    /// Smallest non-zero priority; `undefined` when all are 0.
    pub fn min(&self) -> Option<f64> {
        self.inner.min()
    }

    /// The slot whose cumulative range holds `u`, for `0 <= u < total()`;
    /// never a zero-priority slot.
    pub fn find(&self, #[wasm_bindgen(unchecked_param_type = "number")] u: JsValue) -> JsResult<u32> {
        self.inner.find(num("u", &u)?).map(|i| i as u32).or_throw()
    }

    /// Number of slots.
    #[wasm_bindgen(getter)]
    pub fn capacity(&self) -> u32 {
        self.inner.capacity() as u32
    }
}

// ------------------------------------------------------------------ PER

const PER_KEYS: &[&str] = &["capacity", "alpha", "beta", "betaFinal", "betaSteps", "epsilon", "seed", "rank"];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PerOptions {
    capacity: usize,
    alpha: Option<f64>,
    beta: Option<f64>,
    beta_final: Option<f64>,
    beta_steps: Option<u64>,
    epsilon: Option<f64>,
    seed: Option<u64>,
    rank: Option<bool>,
}

/// The core's config from the options, defaults by kind.
fn per_config(o: &PerOptions) -> PerConfig {
    let rank = o.rank == Some(true);
    let base = if rank { PerConfig::rank(o.capacity) } else { PerConfig::new(o.capacity) };
    PerConfig {
        alpha: o.alpha.unwrap_or(base.alpha),
        beta: o.beta.unwrap_or(base.beta),
        beta_final: o.beta_final.unwrap_or(base.beta_final),
        beta_steps: o.beta_steps.unwrap_or(base.beta_steps),
        epsilon: o.epsilon.unwrap_or(base.epsilon),
        seed: o.seed.unwrap_or(base.seed),
        kind: if rank { PerKind::Rank } else { PerKind::Proportional },
        ..base
    }
}

/// The keys and TD errors of an `updatePriorities` call: `indices` with
/// their `generations`, or each slot's current key when `generations` is absent.
fn update_input(
    selector: &dyn Selector,
    indices: &JsValue,
    td_errors: &JsValue,
    generations: Option<JsValue>,
) -> JsResult<(Vec<Key>, Vec<f64>)> {
    let generations = generations.unwrap_or(JsValue::UNDEFINED);
    let slots = indices_u32("indices", indices)?;
    let mut keys = try_vec::<Key>(slots.len())?;
    if generations.is_undefined() || generations.is_null() {
        for (k, &s) in keys.iter_mut().zip(&slots) {
            *k = selector.key(s as usize).unwrap_or(Key { slot: s, generation: 0 });
        }
    } else {
        let gens = indices_u32("generations", &generations)?;
        if gens.len() != slots.len() {
            return Err(throw(Error::LengthMismatch { expected: slots.len(), found: gens.len() }));
        }
        for ((k, &slot), &generation) in keys.iter_mut().zip(&slots).zip(&gens) {
            *k = Key { slot, generation };
        }
    }
    Ok((keys, numbers("tdErrors", td_errors)?))
}

/// Prioritized experience replay (proportional or rank-based) over a ring
/// buffer of arbitrary JS values.
///
/// The items stay JS values in a JS array, indexed by slot: the module holds
/// only keys and priorities, and nothing is cloned through it.
#[wasm_bindgen]
pub struct PrioritizedReplayBuffer {
    inner: PrioritizedSelector<Heap>,
    items: Array,
}

/// Magic of the package's PER snapshots: the core's selector snapshot, then
/// the items as JSON (`undefined` items listed apart, since JSON has none).
const JS_MAGIC: &[u8; 4] = b"ADSJ";

#[wasm_bindgen]
impl PrioritizedReplayBuffer {
    /// A buffer; see `PerOptions` for the options and their defaults.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "PerOptions")] options: JsValue,
    ) -> JsResult<PrioritizedReplayBuffer> {
        let o: PerOptions = self::options("PrioritizedReplayBuffer", options, PER_KEYS)?;
        let config = per_config(&o);
        Ok(PrioritizedReplayBuffer { inner: PrioritizedSelector::new(config).or_throw()?, items: Array::new() })
    }

    /// Adds `item`; `priority` is a raw priority (like a |TD error|),
    /// absent: the largest seen so far. Returns the slot.
    pub fn add(&mut self, item: JsValue, priority: Option<JsValue>) -> JsResult<u32> {
        let priority = match priority.filter(|p| !p.is_undefined() && !p.is_null()) {
            Some(p) => Some(num("priority", &p)?),
            None => None,
        };
        let slot = self.inner.insert(priority).or_throw()?.slot;
        self.items.set(slot, item);
        Ok(slot)
    }

    /// Number of items stored.
    #[wasm_bindgen(getter)]
    pub fn size(&self) -> u32 {
        self.inner.len() as u32
    }

    /// Number of slots.
    #[wasm_bindgen(getter)]
    pub fn capacity(&self) -> u32 {
        self.inner.capacity() as u32
    }

    /// The beta the next `sample` will use.
    #[wasm_bindgen(getter)]
    pub fn beta(&self) -> f64 {
        self.inner.beta()
    }

    /// Draws `batchSize` items (stratified), with their slots, generations,
    /// probabilities and importance weights.
    #[wasm_bindgen(unchecked_return_type = "PerSample")]
    pub fn sample(
        &mut self,
        #[wasm_bindgen(js_name = batchSize, unchecked_param_type = "number")] batch_size: JsValue,
    ) -> JsResult<JsValue> {
        let b = batch_size_of(&batch_size)?;
        self.inner.check_batch(b).or_throw()?;
        let mut batch = Batch::new(b)?;
        let arrays = batch.arrays(&[])?;
        let items = construct("Array", &Array::of1(&JsValue::from_f64(b as f64)))?.unchecked_into::<Array>();
        self.inner.sample_into(&mut batch.draws).or_throw()?;
        for (k, d) in batch.draws.iter().enumerate() {
            items.set(k as u32, self.items.get(d.key.slot));
        }
        let out = Object::new();
        // { indices, weights, probabilities, generations, items }
        batch.finish(&arrays, &[], &out, [(INDICES, 2), (WEIGHTS, 0), (PROBABILITIES, 1), (GENERATIONS, 3)])?;
        set(&out, ITEMS, &items.into());
        Ok(out.into())
    }

    /// Updates priorities from TD errors (magnitudes). With `generations` (from
    /// `sample`), entries whose slot was overwritten since are skipped; returns
    /// how many were skipped. Without it, the slots' current items are updated.
    #[wasm_bindgen(js_name = updatePriorities)]
    pub fn update_priorities(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Uint32Array | number[]")] indices: JsValue,
        #[wasm_bindgen(js_name = tdErrors, unchecked_param_type = "Numbers")] td_errors: JsValue,
        generations: Option<JsValue>,
    ) -> JsResult<u32> {
        let (keys, tds) = update_input(&self.inner, &indices, &td_errors, generations)?;
        let report = self.inner.update_priorities(&keys, &tds).or_throw()?;
        Ok(report.stale as u32)
    }

    /// The whole state (priorities, generations, generator, schedule step;
    /// items as JSON, encoded on the JS side) as bytes. An item JSON cannot
    /// hold throws `ItemNotSerializable`; a state too large for the engine
    /// (a string or array past its limits) throws `AllocationFailed`. Either
    /// way the buffer is unchanged and keeps working.
    ///
    /// Layout: `"ADSJ" | u32 LE n | the core's snapshot (n bytes) | u32 LE
    /// count of undefined items | their slots, u32 LE each | UTF-8 JSON array
    /// of the items`.
    pub fn snapshot(&self) -> JsResult<Uint8Array> {
        let core = self.inner.snapshot().or_throw()?;
        let undefined = |i: &u32| self.items.get(*i).is_undefined();
        let undefined_count = (0..self.items.length()).filter(undefined).count();
        let json = js_sys::JSON::stringify(&self.items).map_err(|e| {
            let code =
                if e.is_instance_of::<js_sys::RangeError>() { "AllocationFailed" } else { "ItemNotSerializable" };
            caused(code, "snapshot: the items cannot be written as JSON: ", &e)
        })?;
        let encoder = construct("TextEncoder", &Array::new())?;
        let text: Uint8Array = call(&encoder, "encode", &json)
            .and_then(|b| b.dyn_into())
            .map_err(|e| caused("AllocationFailed", "snapshot: ", &e))?;
        let mut head = Vec::new();
        let head_len = 12 + core.len() + 4 * undefined_count;
        if head.try_reserve_exact(head_len).is_err() {
            return Err(throw(Error::AllocationFailed { bytes: head_len }));
        }
        head.extend_from_slice(JS_MAGIC);
        head.extend_from_slice(&(core.len() as u32).to_le_bytes());
        head.extend_from_slice(&core);
        head.extend_from_slice(&(undefined_count as u32).to_le_bytes());
        for slot in (0..self.items.length()).filter(undefined) {
            head.extend_from_slice(&slot.to_le_bytes());
        }
        let total = head.len() as f64 + f64::from(text.length());
        let out: Uint8Array = construct("Uint8Array", &Array::of1(&JsValue::from_f64(total)))?.unchecked_into();
        out.subarray(0, head.len() as u32).copy_from(&head);
        out.set(&text, head.len() as u32);
        Ok(out)
    }

    /// A buffer restored from `snapshot()` bytes; it continues exactly as the
    /// original would have. Errors: `CorruptSnapshot` (truncated, altered or
    /// foreign bytes, items JSON that does not parse or does not match),
    /// `UnsupportedSnapshotVersion`, `AllocationFailed`.
    pub fn restore(
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] bytes: JsValue,
    ) -> JsResult<PrioritizedReplayBuffer> {
        let corrupt = |reason: &'static str| throw(Error::CorruptSnapshot { reason });
        let bytes: Uint8Array =
            bytes.dyn_into().map_err(|_| js_error("InvalidArgument", "restore: expected a Uint8Array"))?;
        let read = |from: u32, len: u32| -> JsResult<Vec<u8>> {
            let end = from.checked_add(len).filter(|&e| e <= bytes.length()).ok_or_else(|| corrupt("too short"))?;
            let mut v = try_vec::<u8>(len as usize)?;
            bytes.subarray(from, end).copy_to(&mut v);
            Ok(v)
        };
        let word = |at: u32| -> JsResult<u32> {
            let b = read(at, 4)?;
            Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        };
        let magic = read(0, 4)?;
        if magic.as_slice() == b"ADSS" {
            return Err(corrupt("a core snapshot, or one of an earlier package (items inside): take it again"));
        }
        if magic.as_slice() != JS_MAGIC {
            return Err(corrupt("not a PrioritizedReplayBuffer snapshot of the npm package (bad magic)"));
        }
        let n = word(4)?;
        let inner = PrioritizedSelector::<Heap>::restore(&read(8, n)?).or_throw()?;
        let mut at = 8u32.checked_add(n).ok_or_else(|| corrupt("too short"))?;
        let undefined = word(at)?;
        at = at.checked_add(4).ok_or_else(|| corrupt("too short"))?;
        let slots = read(at, undefined.checked_mul(4).ok_or_else(|| corrupt("too short"))?)?;
        at += 4 * undefined;
        let decoder = construct("TextDecoder", &Array::new())?;
        // Decoded and parsed on the JS side: the text never enters wasm memory.
        let json = call(&decoder, "decode", &bytes.subarray(at, bytes.length()))
            .map_err(|e| caused("AllocationFailed", "restore: ", &e))?;
        let parser = Reflect::get(&js_sys::global(), &JsValue::from_str("JSON")).unwrap_or(JsValue::UNDEFINED);
        let items: Array = call(&parser, "parse", &json)
            .ok()
            .and_then(|v| v.dyn_into().ok())
            .ok_or_else(|| corrupt("items JSON does not parse to an array"))?;
        if items.length() as usize != inner.len() {
            return Err(corrupt("item count differs from the buffer's"));
        }
        for chunk in slots.chunks_exact(4) {
            let slot = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
            if slot >= items.length() {
                return Err(corrupt("an undefined item's slot is past the end"));
            }
            items.set(slot, JsValue::UNDEFINED);
        }
        Ok(PrioritizedReplayBuffer { inner, items })
    }
}

// ------------------------------------------------------------------ adaptive

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AdaptiveOptions {
    dataset_size: usize,
    learning_rate: Option<f64>,
    mode: Option<String>,
    seed: Option<u64>,
    target: Option<String>,
}

/// Loss-driven batch sampling over a dataset: EMA, AdaBoost or OHEM, with
/// an optional per-example prior (class-balanced sampling).
#[wasm_bindgen]
pub struct AdaptiveBatchSampler {
    inner: CoreAdaptive<Heap>,
}

#[wasm_bindgen]
impl AdaptiveBatchSampler {
    /// A sampler; see `AdaptiveOptions`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "AdaptiveOptions")] options: JsValue,
    ) -> JsResult<AdaptiveBatchSampler> {
        const KEYS: &[&str] = &["datasetSize", "learningRate", "mode", "seed", "prior", "target"];
        let prior = if options.is_object() { field(&options, "prior") } else { JsValue::UNDEFINED };
        let o: AdaptiveOptions = self::options("AdaptiveBatchSampler", options, KEYS)?;
        let target = match o.target.as_deref() {
            None | Some("uniform") => WeightTarget::Uniform,
            Some("prior") => WeightTarget::Prior,
            Some(_) => return Err(throw(Error::InvalidConfig { field: "target", expected: "'uniform' or 'prior'" })),
        };
        let base = AdaptiveConfig::new(o.dataset_size, o.learning_rate.unwrap_or(0.1));
        let mode = match o.mode.as_deref() {
            None | Some("ema") => AdaptiveMode::Ema,
            Some("adaboost") => AdaptiveMode::AdaBoost,
            Some("ohem") => AdaptiveMode::Ohem,
            Some(_) => {
                return Err(throw(Error::InvalidConfig { field: "mode", expected: "'ema', 'adaboost' or 'ohem'" }))
            }
        };
        let config = AdaptiveConfig { mode, target, seed: o.seed.unwrap_or(0), ..base };
        let mut sampler = AdaptiveBatchSampler { inner: CoreAdaptive::new(config).or_throw()? };
        if !prior.is_undefined() {
            sampler.set_prior(prior)?;
        }
        Ok(sampler)
    }

    /// Replaces every example's prior (one value in (0, 1] per example).
    #[wasm_bindgen(js_name = setPrior)]
    pub fn set_prior(&mut self, #[wasm_bindgen(unchecked_param_type = "Numbers")] prior: JsValue) -> JsResult<()> {
        let prior = numbers("prior", &prior)?;
        self.inner.set_prior(&prior).or_throw()
    }

    /// Sets the prior of some examples; without a prior, the others start at 1.
    #[wasm_bindgen(js_name = updatePrior)]
    pub fn update_prior(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Uint32Array | number[]")] indices: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Numbers")] values: JsValue,
    ) -> JsResult<()> {
        let idx = indices_usize(&indices)?;
        let values = numbers("values", &values)?;
        self.inner.update_prior(&idx, &values).or_throw()
    }

    /// The prior, or `null` when none is set.
    #[wasm_bindgen(unchecked_return_type = "Float64Array | null")]
    pub fn prior(&self) -> JsValue {
        match self.inner.prior() {
            Some(p) => Float64Array::from(p).into(),
            None => JsValue::NULL,
        }
    }

    /// Draws `batchSize` example indices and their importance weights.
    #[wasm_bindgen(unchecked_return_type = "IndexSample")]
    pub fn sample(
        &mut self,
        #[wasm_bindgen(js_name = batchSize, unchecked_param_type = "number")] batch_size: JsValue,
    ) -> JsResult<JsValue> {
        let b = batch_size_of(&batch_size)?;
        let (i, w) = self.inner.sample(b).or_throw()?;
        index_sample(&i, &w)
    }

    /// Feeds back per-example losses (finite, >= 0).
    #[wasm_bindgen(js_name = updateWeights)]
    pub fn update_weights(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Uint32Array | number[]")] indices: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Numbers")] losses: JsValue,
    ) -> JsResult<()> {
        let idx = indices_usize(&indices)?;
        let losses = numbers("losses", &losses)?;
        self.inner.update_weights(&idx, &losses).or_throw()
    }

    /// The sampling probability of every example.
    pub fn probabilities(&self) -> JsResult<Float64Array> {
        let mut p = try_vec(self.inner.config().dataset_size)?;
        self.inner.probabilities_into(&mut p).or_throw()?;
        Ok(Float64Array::from(p.as_slice()))
    }
}

// ------------------------------------------------------------------ reward

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RewardOptions {
    temperature: Option<f64>,
    max_weight: Option<f64>,
    seed: Option<u64>,
}

/// Reward-weighted sampling (RWR / AWR) of pushed rollouts.
#[wasm_bindgen]
pub struct RewardWeightedSampler {
    inner: CoreReward<Heap>,
}

#[wasm_bindgen]
impl RewardWeightedSampler {
    /// A sampler; see `RewardOptions`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "RewardOptions | undefined")] options: JsValue,
    ) -> JsResult<RewardWeightedSampler> {
        let o: RewardOptions = if options.is_undefined() {
            RewardOptions { temperature: None, max_weight: None, seed: None }
        } else {
            self::options("RewardWeightedSampler", options, &["temperature", "maxWeight", "seed"])?
        };
        // The tree grows with the rewards, so the largest capacity costs nothing.
        let base = RewardConfig::new(u32::MAX as usize);
        let config = RewardConfig {
            temperature: o.temperature.unwrap_or(base.temperature),
            max_weight: o.max_weight.unwrap_or(base.max_weight),
            seed: o.seed.unwrap_or(base.seed),
            ..base
        };
        Ok(RewardWeightedSampler { inner: CoreReward::new(config).or_throw()? })
    }

    /// Appends a reward; returns its index (pushes count from 0).
    pub fn push(&mut self, #[wasm_bindgen(unchecked_param_type = "number")] reward: JsValue) -> JsResult<u32> {
        self.inner.push(num("reward", &reward)?).map(|i| i as u32).or_throw()
    }

    /// Appends rewards, all or none.
    pub fn extend(&mut self, #[wasm_bindgen(unchecked_param_type = "Numbers")] rewards: JsValue) -> JsResult<()> {
        let r = numbers("rewards", &rewards)?;
        self.inner.extend(&r).or_throw()
    }

    /// Number of rewards pushed.
    #[wasm_bindgen(getter)]
    pub fn size(&self) -> u32 {
        self.inner.len() as u32
    }

    /// Draws `batchSize` indices, more often for higher rewards.
    #[wasm_bindgen(unchecked_return_type = "IndexSample")]
    pub fn sample(
        &mut self,
        #[wasm_bindgen(js_name = batchSize, unchecked_param_type = "number")] batch_size: JsValue,
    ) -> JsResult<JsValue> {
        let b = batch_size_of(&batch_size)?;
        let (i, w) = self.inner.sample(b).or_throw()?;
        index_sample(&i, &w)
    }
}

// ------------------------------------------------------------------ iw-SFT

const IW_KEYS: [&str; 6] = ["policyLogProbs", "refLogProbs", "mask", "seqLen", "temperature", "mode"];

/// iw-SFT importance weights (paper direction: pi_theta / pi_ref), one per
/// sequence or one per token.
#[wasm_bindgen(js_name = iwSftWeights)]
pub fn iw_sft_weights(
    #[wasm_bindgen(unchecked_param_type = "IwSftOptions")] options: JsValue,
) -> JsResult<Float64Array> {
    check_keys("iwSftWeights", &options, &IW_KEYS)?;
    let get = |k: &str| field(&options, k);
    let policy = numbers("policyLogProbs", &get("policyLogProbs"))?;
    let reference = numbers("refLogProbs", &get("refLogProbs"))?;
    let mask_value = get("mask");
    let mask: Option<Vec<bool>> = if mask_value.is_undefined() || mask_value.is_null() {
        None
    } else if Array::is_array(&mask_value) {
        Some(mask_value.unchecked_ref::<Array>().iter().map(|v| v.is_truthy()).collect())
    } else {
        Some(numbers("mask", &mask_value)?.into_iter().map(|v| v != 0.0).collect())
    };
    let seq_len = match get("seqLen").as_f64() {
        Some(v) => integer("seqLen", 0, v, U32_LIMIT)? as usize,
        None => return Err(js_error("InvalidConfig", "iwSftWeights: `seqLen` must be a number")),
    };
    let temperature_value = get("temperature");
    let temperature = if temperature_value.is_undefined() {
        1.0
    } else {
        temperature_value
            .as_f64()
            .ok_or_else(|| js_error("InvalidConfig", "iwSftWeights: `temperature` must be a number"))?
    };
    let mode = match get("mode").as_string().as_deref() {
        None if get("mode").is_undefined() => IwMode::Sequence,
        Some("sequence") => IwMode::Sequence,
        Some("token") => IwMode::Token,
        _ => return Err(throw(Error::InvalidConfig { field: "mode", expected: "'sequence' or 'token'" })),
    };
    let config = IwSftConfig { mode, temperature, ..IwSftConfig::default() };
    let mut out = try_vec(config.output_len(policy.len(), seq_len))?;
    iw::weights(&config, &policy, &reference, mask.as_deref(), seq_len, &mut out).or_throw()?;
    Ok(Float64Array::from(out.as_slice()))
}

// ------------------------------------------------------------------ ReplayBuffer

const REPLAY_KEYS: &[&str] = &[
    "capacity",
    "columns",
    "kind",
    "alpha",
    "beta",
    "betaFinal",
    "betaSteps",
    "epsilon",
    "seed",
    "withoutReplacement",
];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReplayOptions {
    capacity: usize,
    kind: Option<String>,
    alpha: Option<f64>,
    beta: Option<f64>,
    beta_final: Option<f64>,
    beta_steps: Option<u64>,
    epsilon: Option<f64>,
    seed: Option<u64>,
    without_replacement: Option<bool>,
}

/// The two selectors a `ReplayBuffer` can hold, so that a snapshot knows its kind.
enum Table {
    Prioritized(ReplayTable<PrioritizedSelector<Heap>, Heap>),
    Uniform(ReplayTable<UniformSelector<Heap>, Heap>),
}

/// `$body` with `$t` bound to the table of either kind.
macro_rules! on_table {
    ($table:expr, $t:ident => $body:expr) => {
        match $table {
            Table::Prioritized($t) => $body,
            Table::Uniform($t) => $body,
        }
    };
}

/// One output buffer per column, of the column's dtype, in wasm memory.
enum Column {
    F32(Vec<f32>),
    F64(Vec<f64>),
    I32(Vec<i32>),
    U32(Vec<u32>),
    U8(Vec<u8>),
}

impl Column {
    fn zeros(dtype: DType, len: usize) -> JsResult<Column> {
        Ok(match dtype {
            DType::F32 => Column::F32(try_vec(len)?),
            DType::F64 => Column::F64(try_vec(len)?),
            DType::I32 => Column::I32(try_vec(len)?),
            DType::U32 => Column::U32(try_vec(len)?),
            DType::U8 => Column::U8(try_vec(len)?),
        })
    }

    fn view(&mut self) -> ValuesMut<'_> {
        match self {
            Column::F32(v) => ValuesMut::F32(v),
            Column::F64(v) => ValuesMut::F64(v),
            Column::I32(v) => ValuesMut::I32(v),
            Column::U32(v) => ValuesMut::U32(v),
            Column::U8(v) => ValuesMut::U8(v),
        }
    }

    fn dtype(&self) -> DType {
        match self {
            Column::F32(_) => DType::F32,
            Column::F64(_) => DType::F64,
            Column::I32(_) => DType::I32,
            Column::U32(_) => DType::U32,
            Column::U8(_) => DType::U8,
        }
    }

    fn len(&self) -> usize {
        match self {
            Column::F32(v) => v.len(),
            Column::F64(v) => v.len(),
            Column::I32(v) => v.len(),
            Column::U32(v) => v.len(),
            Column::U8(v) => v.len(),
        }
    }

    /// A typed array over `buffer` at byte `at`, holding a copy of the values.
    fn view_in(&self, buffer: &js_sys::ArrayBuffer, at: u32) -> JsValue {
        let n = self.len() as u32;
        macro_rules! view {
            ($t:ty, $v:expr) => {{
                let a = <$t>::new_with_byte_offset_and_length(buffer, at, n);
                a.copy_from($v);
                a.into()
            }};
        }
        match self {
            Column::F32(v) => view!(js_sys::Float32Array, v),
            Column::F64(v) => view!(Float64Array, v),
            Column::I32(v) => view!(js_sys::Int32Array, v),
            Column::U32(v) => view!(Uint32Array, v),
            Column::U8(v) => view!(Uint8Array, v),
        }
    }
}

/// One new `ArrayBuffer` for all of a call's typed arrays (one allocation
/// per call, not one per array: a batch's seven small buffers cost more in
/// the engine's allocator and collector than the copies). Made before the
/// call changes anything, so that an engine refusing the memory leaves the
/// object as it was. Each array starts at a multiple of its element size.
struct Arrays {
    buffer: js_sys::ArrayBuffer,
    offsets: Vec<u32>,
}

impl Arrays {
    /// Room for arrays of these dtypes and lengths, in order.
    fn new(parts: &[&Column]) -> JsResult<Arrays> {
        let mut offsets = try_vec::<u32>(parts.len())?;
        let mut end = 0usize;
        for (o, p) in offsets.iter_mut().zip(parts) {
            let size = p.dtype().size();
            let at = end.div_ceil(size) * size;
            end = at.saturating_add(p.len().saturating_mul(size));
            *o = u32::try_from(at).map_err(|_| throw(Error::AllocationFailed { bytes: end }))?;
        }
        if end > u32::MAX as usize {
            return Err(throw(Error::AllocationFailed { bytes: end }));
        }
        let buffer = construct("ArrayBuffer", &Array::of1(&JsValue::from_f64(end as f64)))?.unchecked_into();
        Ok(Arrays { buffer, offsets })
    }

    /// The arrays, holding copies of `parts` (the dtypes and lengths given to `new`).
    fn views(&self, parts: &[&Column]) -> JsResult<Vec<JsValue>> {
        try_collect(parts.iter().zip(&self.offsets).map(|(p, &at)| p.view_in(&self.buffer, at)))
    }
}

/// A batch of `b` draws and the four arrays they become (weights,
/// probabilities, slots, generations: the f64 ones first, aligned), all
/// reserved before the draw.
struct Batch {
    draws: Vec<Draw>,
    head: [Column; 4],
}

impl Batch {
    fn new(b: usize) -> JsResult<Batch> {
        let head =
            [Column::F64(try_vec(b)?), Column::F64(try_vec(b)?), Column::U32(try_vec(b)?), Column::U32(try_vec(b)?)];
        Ok(Batch { draws: try_vec(b)?, head })
    }

    /// The buffer for the four arrays and `columns`: before the draw.
    fn arrays(&self, columns: &[Column]) -> JsResult<Arrays> {
        Arrays::new(&try_collect(self.head.iter().chain(columns))?)
    }

    /// The four arrays of the draws, into `out` under `keys` (result keys
    /// in the order the contract lists them, each with its array's place in
    /// `head`); `columns` (the draw's rows), views of the same buffer,
    /// returned in order.
    fn finish(
        mut self,
        arrays: &Arrays,
        columns: &[Column],
        out: &Object,
        keys: [(usize, usize); 4],
    ) -> JsResult<Vec<JsValue>> {
        if let [Column::F64(w), Column::F64(p), Column::U32(s), Column::U32(g)] = &mut self.head {
            for (k, d) in self.draws.iter().enumerate() {
                (w[k], p[k], s[k], g[k]) = (d.weight, d.probability, d.key.slot, d.key.generation);
            }
        }
        let mut arrays = arrays.views(&try_collect(self.head.iter().chain(columns))?)?;
        for (key, at) in keys {
            set(out, key, &arrays[at]);
        }
        arrays.drain(..4);
        Ok(arrays)
    }
}

/// A replay buffer of rows in named, fixed-width, typed columns, with a
/// proportional, rank-based or uniform selector. A row or batch crosses
/// the boundary as one typed array per column, copied.
#[wasm_bindgen]
pub struct ReplayBuffer {
    table: Table,
    /// The column names as JS strings, in schema order (looked up on every row).
    names: Vec<JsValue>,
}

/// Our error for a schema problem, naming the column.
#[cold]
#[inline(never)]
fn schema_error(names: &[JsValue], e: Error) -> JsValue {
    let column = match e {
        Error::SchemaMismatch {
            problem:
                SchemaProblem::Length { column, .. }
                | SchemaProblem::NotRepresentable { column, .. }
                | SchemaProblem::Missing { column }
                | SchemaProblem::DType { column, .. },
        } => Some(column),
        _ => None,
    };
    match column.and_then(|c| names.get(c)).and_then(JsValue::as_string) {
        Some(name) => js_error(e.code(), &format!("{e} (column {} is `{name}`)", column.unwrap_or(0))),
        None => throw(e),
    }
}

/// One column of the `columns` option.
struct ColumnOption {
    name: String,
    dtype: DType,
    shape: Vec<usize>,
}

/// The schema from the `columns` option: names in the object's key order.
fn parse_columns(columns: &JsValue) -> JsResult<Vec<ColumnOption>> {
    if !columns.is_object() || Array::is_array(columns) {
        return Err(js_error("InvalidConfig", "ReplayBuffer: `columns` must be an object of { shape?, dtype? }"));
    }
    let keys = Object::keys(columns.unchecked_ref::<Object>());
    let mut out = Vec::new();
    for key in keys.iter() {
        let name = key.as_string().unwrap_or_default();
        let spec = Reflect::get(columns, &key).unwrap_or(JsValue::UNDEFINED);
        check_keys(&format!("ReplayBuffer: column `{name}`"), &spec, &["shape", "dtype"])?;
        let dtype = match field(&spec, "dtype") {
            d if d.is_undefined() => DType::F32,
            d => d.as_string().as_deref().and_then(DType::from_name).ok_or_else(|| {
                js_error(
                    "InvalidConfig",
                    &format!("ReplayBuffer: column `{name}`: dtype must be 'float32', 'float64', 'int32', 'uint32' or 'uint8'"),
                )
            })?,
        };
        let shape = match field(&spec, "shape") {
            s if s.is_undefined() => Vec::new(),
            s if Array::is_array(&s) && s.unchecked_ref::<Array>().length() as usize <= MAX_DIMS => {
                let mut dims = Vec::new();
                for d in s.unchecked_ref::<Array>().iter() {
                    match d.as_f64() {
                        Some(x) if x >= 1.0 && x.fract() == 0.0 && x < U32_LIMIT => dims.push(x as usize),
                        _ => {
                            return Err(js_error(
                                "InvalidConfig",
                                &format!("ReplayBuffer: column `{name}`: shape entries must be integers >= 1"),
                            ))
                        }
                    }
                }
                dims
            }
            _ => {
                return Err(js_error(
                    "InvalidConfig",
                    &format!("ReplayBuffer: column `{name}`: shape must be an array of at most {MAX_DIMS} integers"),
                ))
            }
        };
        out.push(ColumnOption { name, dtype, shape });
    }
    Ok(out)
}

impl ReplayBuffer {
    fn rows(&self) -> &RowStorage<Heap> {
        on_table!(&self.table, t => t.rows())
    }

    fn selector(&self) -> &dyn Selector {
        on_table!(&self.table, t => t.selector())
    }

    /// The values of every column of `rows` (one object of columns), as
    /// f64 (the core converts and checks them against each column's dtype).
    fn read_columns(&self, rows: &JsValue) -> JsResult<Vec<Vec<f64>>> {
        if !rows.is_object() || Array::is_array(rows) {
            return Err(js_error("InvalidArgument", "row: expected an object with one entry per column"));
        }
        let mut out = Vec::new();
        if out.try_reserve_exact(self.names.len()).is_err() {
            return Err(throw(Error::AllocationFailed { bytes: self.names.len() * 24 }));
        }
        for (column, name) in self.names.iter().enumerate() {
            let v = Reflect::get(rows, name).unwrap_or(JsValue::UNDEFINED);
            if v.is_undefined() {
                return Err(schema_error(
                    &self.names,
                    Error::SchemaMismatch { problem: SchemaProblem::Missing { column } },
                ));
            }
            out.push(match v.as_f64() {
                Some(x) => {
                    let mut one = try_vec(1)?;
                    one[0] = x;
                    one
                }
                None => numbers("row", &v)?,
            });
        }
        let keys = Object::keys(rows.unchecked_ref::<Object>());
        if keys.length() as usize != self.names.len() {
            let position = keys.iter().position(|k| !self.names.contains(&k)).unwrap_or(0);
            let name = keys.get(position as u32).as_string().unwrap_or_default();
            let e = Error::SchemaMismatch { problem: SchemaProblem::Unknown { position } };
            return Err(js_error(e.code(), &format!("`{name}` is not a column of this buffer ({e})")));
        }
        Ok(out)
    }

    fn outputs(&self, n: usize) -> JsResult<Vec<Column>> {
        let mut out = Vec::new();
        if out.try_reserve_exact(self.names.len()).is_err() {
            return Err(throw(Error::AllocationFailed { bytes: self.names.len() * 16 }));
        }
        for c in self.rows().columns() {
            out.push(Column::zeros(c.dtype, c.width.saturating_mul(n))?);
        }
        Ok(out)
    }

    /// `{ name: typed array }` of the columns in `arrays` (schema order).
    fn columns_object(&self, arrays: &[JsValue]) -> Object {
        let obj = Object::new();
        for (name, a) in self.names.iter().zip(arrays) {
            // Defining a data property on a plain new object cannot fail.
            let _ = Reflect::set(&obj, name, a);
        }
        obj
    }

    fn from_table(table: Table) -> ReplayBuffer {
        let mut buffer = ReplayBuffer { table, names: Vec::new() };
        buffer.names = buffer.rows().columns().map(|c| JsValue::from_str(c.name)).collect();
        buffer
    }
}

fn f64_views(values: &[Vec<f64>]) -> JsResult<Vec<Values<'_>>> {
    try_collect(values.iter().map(|v| Values::F64(v)))
}

#[wasm_bindgen]
impl ReplayBuffer {
    /// A buffer; see `ReplayBufferOptions` for the options and their defaults.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "ReplayBufferOptions")] options: JsValue,
    ) -> JsResult<ReplayBuffer> {
        let columns = if options.is_object() { field(&options, "columns") } else { JsValue::UNDEFINED };
        // `columns` is read by hand (key order is the schema's); serde skips it.
        let o: ReplayOptions = self::options("ReplayBuffer", options, REPLAY_KEYS)?;
        let schema = parse_columns(&columns)?;
        let specs: Vec<ColumnSpec<'_>> = schema.iter().map(|c| ColumnSpec::new(&c.name, c.dtype, &c.shape)).collect();
        let rows = RowStorage::<Heap>::new(o.capacity, &specs).or_throw()?;
        let without_replacement = o.without_replacement.unwrap_or(false);
        let table = match o.kind.as_deref() {
            None | Some("proportional") | Some("rank") => {
                let rank = o.kind.as_deref() == Some("rank");
                let per = PerOptions {
                    capacity: o.capacity,
                    alpha: o.alpha,
                    beta: o.beta,
                    beta_final: o.beta_final,
                    beta_steps: o.beta_steps,
                    epsilon: o.epsilon,
                    seed: o.seed,
                    rank: Some(rank),
                };
                let config = PerConfig { without_replacement, ..per_config(&per) };
                Table::Prioritized(ReplayTable::new(PrioritizedSelector::new(config).or_throw()?, rows).or_throw()?)
            }
            Some("uniform") => {
                let config =
                    UniformConfig { seed: o.seed.unwrap_or(0), without_replacement, ..UniformConfig::new(o.capacity) };
                Table::Uniform(ReplayTable::new(UniformSelector::new(config).or_throw()?, rows).or_throw()?)
            }
            Some(_) => {
                return Err(throw(Error::InvalidConfig {
                    field: "kind",
                    expected: "'proportional', 'rank' or 'uniform'",
                }))
            }
        };
        Ok(ReplayBuffer::from_table(table))
    }

    /// Adds one row (`{ column: number | ArrayLike<number> }`, every column,
    /// values copied) with raw priority `priority` (a |TD error|; absent: the
    /// largest seen so far). Returns the slot.
    pub fn add(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Record<string, number | ArrayLike<number>>")] row: JsValue,
        priority: Option<JsValue>,
    ) -> JsResult<u32> {
        let priority = match priority.filter(|p| !p.is_undefined() && !p.is_null()) {
            Some(p) => Some(num("priority", &p)?),
            None => None,
        };
        let values = self.read_columns(&row)?;
        let views = f64_views(&values)?;
        let names = &self.names;
        on_table!(&mut self.table, t => t.add(&views, priority)).map(|k| k.slot).map_err(|e| schema_error(names, e))
    }

    /// Adds `count` rows: each column holds `count * prod(shape)` values, row
    /// after row, and every column the same count; `priorities`, if given,
    /// one per row. All or nothing. Returns the count.
    pub fn extend(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Record<string, ArrayLike<number>>")] rows: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Numbers")] priorities: Option<JsValue>,
    ) -> JsResult<u32> {
        let priorities = match priorities.filter(|p| !p.is_undefined() && !p.is_null()) {
            Some(p) => Some(numbers("priorities", &p)?),
            None => None,
        };
        let values = self.read_columns(&rows)?;
        let width = self.rows().columns().next().map_or(1, |c| c.width);
        let count = values.first().map_or(0, |v| v.len() / width);
        let views = f64_views(&values)?;
        let names = &self.names;
        on_table!(&mut self.table, t => t.extend(count, &views, priorities.as_deref()))
            .map(|n| n as u32)
            .map_err(|e| schema_error(names, e))
    }

    /// Rows stored.
    #[wasm_bindgen(getter)]
    pub fn size(&self) -> u32 {
        self.selector().len() as u32
    }

    /// Number of slots.
    #[wasm_bindgen(getter)]
    pub fn capacity(&self) -> u32 {
        self.selector().capacity() as u32
    }

    /// The beta the next `sample` will use (uniform: 0; its weights are 1).
    #[wasm_bindgen(getter)]
    pub fn beta(&self) -> f64 {
        self.selector().beta()
    }

    /// Draws `batchSize` rows: their slots, generations, importance
    /// weights, probabilities, and one typed array per column (row j = draw j).
    #[wasm_bindgen(unchecked_return_type = "ReplaySample")]
    pub fn sample(
        &mut self,
        #[wasm_bindgen(js_name = batchSize, unchecked_param_type = "number")] batch_size: JsValue,
    ) -> JsResult<JsValue> {
        let b = batch_size_of(&batch_size)?;
        self.selector().check_batch(b).or_throw()?;
        let mut batch = Batch::new(b)?;
        let mut outs = self.outputs(b)?;
        let arrays = batch.arrays(&outs)?;
        let mut views = try_collect(outs.iter_mut().map(Column::view))?;
        on_table!(&mut self.table, t => t.sample_into(&mut batch.draws, &mut views)).or_throw()?;
        drop(views);
        let out = Object::new();
        // { indices, generations, weights, probabilities, columns }
        let keys = [(INDICES, 2), (GENERATIONS, 3), (WEIGHTS, 0), (PROBABILITIES, 1)];
        let columns = batch.finish(&arrays, &outs, &out, keys)?;
        set(&out, COLUMNS, &self.columns_object(&columns).into());
        Ok(out.into())
    }

    /// New priorities from TD errors (magnitudes); with `generations` (from
    /// `sample`), entries whose slot was overwritten since are skipped.
    /// Returns how many were skipped. (Uniform: checked, nothing stored.)
    #[wasm_bindgen(js_name = updatePriorities)]
    pub fn update_priorities(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Uint32Array | number[]")] indices: JsValue,
        #[wasm_bindgen(js_name = tdErrors, unchecked_param_type = "Numbers")] td_errors: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Uint32Array | number[] | null")] generations: Option<JsValue>,
    ) -> JsResult<u32> {
        let (keys, tds) = update_input(self.selector(), &indices, &td_errors, generations)?;
        let report = on_table!(&mut self.table, t => t.update_priorities(&keys, &tds)).or_throw()?;
        Ok(report.stale as u32)
    }

    /// A copy of the row in `slot`, one typed array per column.
    #[wasm_bindgen(unchecked_return_type = "Record<string, ColumnArray>")]
    pub fn get(&self, #[wasm_bindgen(unchecked_param_type = "number")] slot: JsValue) -> JsResult<JsValue> {
        let slot = integer("slot", 0, num("slot", &slot)?, U32_LIMIT)? as usize;
        let len = self.selector().len();
        let key = self.selector().key(slot).ok_or_else(|| throw(Error::IndexOutOfRange { index: slot, len }))?;
        let mut outs = self.outputs(1)?;
        let mut views = try_collect(outs.iter_mut().map(Column::view))?;
        on_table!(&self.table, t => t.get(key, &mut views)).or_throw()?;
        drop(views);
        let parts = try_collect(outs.iter())?;
        Ok(self.columns_object(&Arrays::new(&parts)?.views(&parts)?).into())
    }

    /// Empties the buffer, as if new (options kept; the generator restarts
    /// from the seed and generations from 0).
    pub fn clear(&mut self) -> JsResult<()> {
        match &mut self.table {
            Table::Prioritized(t) => {
                let fresh = PrioritizedSelector::new(*t.selector().config()).or_throw()?;
                t.reset(fresh).or_throw()
            }
            Table::Uniform(t) => {
                let fresh = UniformSelector::new(*t.selector().config()).or_throw()?;
                t.reset(fresh).or_throw()
            }
        }
    }

    /// The whole state (options, schema, rows, priorities, generations,
    /// generator, schedule) as bytes.
    pub fn snapshot(&self) -> JsResult<Uint8Array> {
        let bytes = on_table!(&self.table, t => t.snapshot()).or_throw()?;
        let out: Uint8Array =
            construct("Uint8Array", &Array::of1(&JsValue::from_f64(bytes.len() as f64)))?.unchecked_into();
        out.copy_from(&bytes);
        Ok(out)
    }

    /// A buffer restored from `snapshot()` bytes; it continues exactly as
    /// the original would have. Errors: `CorruptSnapshot`,
    /// `UnsupportedSnapshotVersion`, `AllocationFailed`.
    pub fn restore(#[wasm_bindgen(unchecked_param_type = "Uint8Array")] bytes: JsValue) -> JsResult<ReplayBuffer> {
        let bytes: Uint8Array =
            bytes.dyn_into().map_err(|_| js_error("InvalidArgument", "restore: expected a Uint8Array"))?;
        let mut b = try_vec::<u8>(bytes.length() as usize)?;
        bytes.copy_to(&mut b);
        let table = match table_selector_kind(&b).or_throw()? {
            SelectorKind::Prioritized => Table::Prioritized(ReplayTable::restore(&b).or_throw()?),
            SelectorKind::Uniform => Table::Uniform(ReplayTable::restore(&b).or_throw()?),
        };
        Ok(ReplayBuffer::from_table(table))
    }
}
