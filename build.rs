//! Compiles `proto/switchboard/v1/*.proto` into Rust (prost messages, tonic
//! services) and writes the encoded descriptor set that server reflection
//! serves.
//!
//! Why protox: it is a pure-Rust protobuf compiler, so building switchboard
//! needs no system `protoc` (a fresh machine has none).
//!
//! Why we emit `rerun-if-changed` ourselves, per file: with the default
//! behaviour cargo re-runs build scripts whenever any file of the package
//! changes (see https://github.com/hyperium/tonic/issues/1070), and compiling
//! the protos on every edit of `src/` is wasted time.

use std::{env, fs, io, path::PathBuf};

fn main() -> io::Result<()> {
    let proto_root = PathBuf::from("proto");
    let mut protos: Vec<PathBuf> = fs::read_dir(proto_root.join("switchboard/v1"))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "proto"))
        .collect();
    protos.sort();
    println!(
        "cargo:rerun-if-changed={}",
        proto_root.join("switchboard/v1").display()
    );
    for proto in &protos {
        println!("cargo:rerun-if-changed={}", proto.display());
    }

    // Source info keeps the proto comments: they become rustdoc on the
    // generated types and reach reflection clients.
    let descriptors = protox::Compiler::new([&proto_root])
        .map_err(io::Error::other)?
        .include_source_info(true)
        .include_imports(true)
        .open_files(&protos)
        .map_err(io::Error::other)?
        .file_descriptor_set();

    let out_dir = PathBuf::from(env::var("OUT_DIR").map_err(io::Error::other)?);
    fs::write(
        out_dir.join("switchboard_descriptor.bin"),
        prost::Message::encode_to_vec(&descriptors),
    )?;

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // No default stubs: every RPC of the contract is implemented, and
        // one added to it does not compile until it is.
        .emit_rerun_if_changed(false)
        .compile_fds(descriptors)
}
