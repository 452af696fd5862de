//! `cfg(store)`: the feature `store` on a target that has it (not `wasm32`, where the seal's
//! `ring` does not build and no store runs).
fn main() {
    println!("cargo::rustc-check-cfg=cfg(store)");
    // The bearer value's loom model (driver/loom).
    println!("cargo::rustc-check-cfg=cfg(zuora_loom)");
    let store = std::env::var_os("CARGO_FEATURE_STORE").is_some();
    let wasm = std::env::var("CARGO_CFG_TARGET_ARCH").is_ok_and(|arch| arch == "wasm32");
    if store && !wasm {
        println!("cargo::rustc-cfg=store");
    }
}
