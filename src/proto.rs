//! Code generated from `proto/callscore/v1`, and its descriptor set for reflection.

#![allow(missing_docs, clippy::all, clippy::pedantic)]

tonic::include_proto!("callscore.v1");

/// The encoded `FileDescriptorSet` of the whole contract, served by reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/callscore_descriptor.bin"));
