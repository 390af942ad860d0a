//! The golden vectors of `tests/golden/`, replayed through the exported JS API
//! inside the real wasm32 build: `wasm-pack test --node` runs them in Node,
//! `wasm-pack test --headless --chrome` in Chromium. Outputs must match the
//! native core bit for bit.

use adasample_wasm::{iw_sft_weights, AdaptiveBatchSampler, PrioritizedReplayBuffer, RewardWeightedSampler, SumTree};
use js_sys::{Float64Array, Reflect, Uint32Array};
use serde_json::Value;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

fn js(v: &Value) -> JsValue {
    js_sys::JSON::parse(&v.to_string()).unwrap()
}

fn field(obj: &JsValue, k: &str) -> JsValue {
    Reflect::get(obj, &JsValue::from_str(k)).unwrap()
}

fn f64s(v: &JsValue) -> Vec<f64> {
    v.dyn_ref::<Float64Array>().unwrap().to_vec()
}

fn u32s(v: &JsValue) -> Vec<u32> {
    v.dyn_ref::<Uint32Array>().unwrap().to_vec()
}

fn want_f64(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

fn want_u32(v: &Value) -> Vec<u32> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect()
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn load(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

#[wasm_bindgen_test]
fn golden_per() {
    for text in [
        include_str!("../../tests/golden/per_proportional.json"),
        include_str!("../../tests/golden/per_rank.json"),
        include_str!("../../tests/golden/per_fixed1024.json"),
    ] {
        let case = load(text);
        let mut b = PrioritizedReplayBuffer::new(js(&case["config"])).unwrap();
        let mut item = 0u32;
        for op in case["ops"].as_array().unwrap() {
            let e = &op["expect"];
            match op["op"].as_str().unwrap() {
                "add" => {
                    let mut slots = vec![];
                    for p in op["priorities"].as_array().unwrap() {
                        slots.push(b.add(JsValue::from(item), p.as_f64().map(JsValue::from)).unwrap());
                        item += 1;
                    }
                    assert_eq!(slots, want_u32(&e["slots"]));
                }
                "sample" => {
                    assert_eq!(b.beta().to_bits(), e["beta"].as_f64().unwrap().to_bits());
                    let s = b.sample(JsValue::from(op["batch"].as_f64().unwrap())).unwrap();
                    assert_eq!(u32s(&field(&s, "indices")), want_u32(&e["slots"]));
                    assert_eq!(u32s(&field(&s, "generations")), want_u32(&e["generations"]));
                    assert_eq!(bits(&f64s(&field(&s, "probabilities"))), bits(&want_f64(&e["probabilities"])));
                    assert_eq!(bits(&f64s(&field(&s, "weights"))), bits(&want_f64(&e["weights"])));
                    let items: Vec<u32> =
                        js_sys::Array::from(&field(&s, "items")).iter().map(|v| v.as_f64().unwrap() as u32).collect();
                    assert_eq!(items, want_u32(&e["items"]));
                }
                "update" => {
                    let stale = b
                        .update_priorities(js(&op["slots"]), js(&op["tdErrors"]), Some(js(&op["generations"])))
                        .unwrap();
                    assert_eq!(stale as u64, e["stale"].as_u64().unwrap());
                }
                other => panic!("{other}"),
            }
        }
    }
}

#[wasm_bindgen_test]
fn golden_adaptive() {
    for text in [
        include_str!("../../tests/golden/adaptive_ema.json"),
        include_str!("../../tests/golden/adaptive_adaboost.json"),
        include_str!("../../tests/golden/adaptive_ohem.json"),
    ] {
        let case = load(text);
        let mut s = AdaptiveBatchSampler::new(js(&case["config"])).unwrap();
        for op in case["ops"].as_array().unwrap() {
            let e = &op["expect"];
            match op["op"].as_str().unwrap() {
                "sample" => {
                    let r = s.sample(JsValue::from(op["batch"].as_f64().unwrap())).unwrap();
                    assert_eq!(u32s(&field(&r, "indices")), want_u32(&e["indices"]));
                    assert_eq!(bits(&f64s(&field(&r, "weights"))), bits(&want_f64(&e["weights"])));
                }
                "update" => {
                    s.update_weights(js(&op["indices"]), js(&op["losses"])).unwrap();
                    assert_eq!(bits(&s.probabilities().unwrap().to_vec()), bits(&want_f64(&e["probabilities"])));
                }
                other => panic!("{other}"),
            }
        }
    }
}

#[wasm_bindgen_test]
fn golden_reward_and_iw() {
    let case = load(include_str!("../../tests/golden/reward.json"));
    let mut s = RewardWeightedSampler::new(js(&case["config"])).unwrap();
    for op in case["ops"].as_array().unwrap() {
        match op["op"].as_str().unwrap() {
            "extend" => s.extend(js(&op["rewards"])).unwrap(),
            "sample" => {
                let r = s.sample(JsValue::from(op["batch"].as_f64().unwrap())).unwrap();
                assert_eq!(u32s(&field(&r, "indices")), want_u32(&op["expect"]["indices"]));
                assert_eq!(bits(&f64s(&field(&r, "weights"))), bits(&want_f64(&op["expect"]["weights"])));
            }
            other => panic!("{other}"),
        }
    }
    let case = load(include_str!("../../tests/golden/iw.json"));
    for op in case["ops"].as_array().unwrap() {
        let mut o = op.clone();
        let o = o.as_object_mut().unwrap();
        o.remove("op");
        o.remove("expect");
        let w = iw_sft_weights(js(&Value::Object(o.clone()))).unwrap();
        assert_eq!(bits(&w.to_vec()), bits(&want_f64(&op["expect"])));
    }
}

#[wasm_bindgen_test]
fn errors_are_thrown_with_codes_and_state_survives() {
    let code = |e: JsValue| Reflect::get(&e, &JsValue::from_str("code")).unwrap().as_string().unwrap();
    let mut b = PrioritizedReplayBuffer::new(js(&serde_json::json!({ "capacity": 4 }))).unwrap();
    assert_eq!(code(b.sample(JsValue::from(1.0)).err().unwrap()), "Empty");
    b.add(JsValue::from_str("a"), None).unwrap();
    assert_eq!(code(b.add(JsValue::NULL, Some(JsValue::from(f64::NAN))).err().unwrap()), "InvalidPriority");
    assert_eq!(code(b.sample(JsValue::from(-1.0)).err().unwrap()), "InvalidArgument");
    assert_eq!(
        code(b.update_priorities(js(&serde_json::json!([3])), js(&serde_json::json!([1.0])), None).err().unwrap()),
        "IndexOutOfRange"
    );
    assert_eq!(
        code(PrioritizedReplayBuffer::new(js(&serde_json::json!({ "capacity": 4, "alpah": 1 }))).err().unwrap()),
        "InvalidConfig"
    );
    let garbage = js_sys::Uint8Array::from(&[1u8, 2, 3][..]);
    assert_eq!(code(PrioritizedReplayBuffer::restore(garbage.into()).err().unwrap()), "CorruptSnapshot");
    // Memory exhaustion inside wasm32 is a code, never a trap: a 2^31-slot
    // tree (16 GiB) cannot be had; 2^32 - 1 slots do not exist on 32 bits.
    assert_eq!(code(SumTree::new(JsValue::from(2_147_483_648.0)).err().unwrap()), "AllocationFailed");
    assert_eq!(code(SumTree::new(JsValue::from(4_294_967_295.0)).err().unwrap()), "InvalidConfig");
    // A PER allocates as it fills, so a huge capacity is fine until used.
    let mut huge = PrioritizedReplayBuffer::new(js(&serde_json::json!({ "capacity": 2_147_483_648u64 }))).unwrap();
    huge.add(JsValue::from_f64(1.0), None).unwrap();
    assert!(huge.sample(JsValue::from(2.0)).is_ok());
    // Non-numbers where a number goes: a code (the glue threw a TypeError
    // without one for a BigInt, and turned strings into numbers).
    assert_eq!(code(b.sample(js_sys::BigInt::from(2u32).into()).err().unwrap()), "InvalidArgument");
    assert_eq!(code(b.sample(JsValue::from_str("2")).err().unwrap()), "InvalidArgument");
    assert_eq!(b.size(), 1);
    assert_eq!(b.sample(JsValue::from(2.0)).is_ok(), true);
    let mut t = SumTree::new(JsValue::from(2.0)).unwrap();
    assert_eq!(code(t.set(JsValue::from(2.0), JsValue::from(1.0)).err().unwrap()), "IndexOutOfRange");
    t.set(JsValue::from(1.0), JsValue::from(2.0)).unwrap();
    assert_eq!(t.find(JsValue::from(1.5)).unwrap(), 1);
}
