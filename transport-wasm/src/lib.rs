//! wasm32 transport for zuora-oauth: the global fetch (browsers, workers, Node, edge runtimes).
#![forbid(unsafe_code)]
