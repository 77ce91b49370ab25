//! Compiles the protobuf contract without a system `protoc` and keeps the
//! descriptor set for gRPC reflection and JSON output.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_dir = PathBuf::from("proto");
    let files: Vec<PathBuf> = std::fs::read_dir(proto_dir.join("callscore/v1"))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "proto"))
        .collect();
    // The folder too, so a new .proto file is noticed.
    println!("cargo:rerun-if-changed=proto/callscore/v1");
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    // sqlx::migrate! embeds the migrations; on stable it cannot track them itself.
    println!("cargo:rerun-if-changed=migrations");
    let descriptors = protox::compile(&files, [&proto_dir])?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("callscore_descriptor.bin"),
        prost::Message::encode_to_vec(&descriptors),
    )?;
    // Type names let the CLI find each message in the descriptor set and
    // print it as canonical proto3 JSON (`--format json`).
    let mut config = tonic_prost_build::Config::new();
    config.enable_type_names();
    tonic_prost_build::configure().compile_fds_with_config(descriptors, config)?;
    Ok(())
}
