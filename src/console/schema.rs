//! The contract's descriptors as the compact JSON the console's protobuf
//! codec reads (console/js/proto.js): every message's fields, every enum's
//! values and every RPC's types, built once from the descriptor set the
//! server already embeds for reflection.

use std::sync::OnceLock;

use prost_reflect::{Cardinality, DescriptorPool, Kind};
use serde_json::{Map, Value, json};

/// The schema, built on first use.
pub fn json() -> Result<&'static str, String> {
    static SCHEMA: OnceLock<Result<String, String>> = OnceLock::new();
    SCHEMA
        .get_or_init(|| build().map_err(|error| error.to_string()))
        .as_deref()
        .map_err(Clone::clone)
}

fn build() -> Result<String, prost_reflect::DescriptorError> {
    let pool = DescriptorPool::decode(crate::proto::FILE_DESCRIPTOR_SET)?;
    let mut messages = Map::new();
    for message in pool.all_messages() {
        let fields: Vec<Value> = message
            .fields()
            .map(|field| {
                let (type_number, type_name) = match field.kind() {
                    Kind::Message(inner) => (11, inner.full_name().to_string()),
                    Kind::Enum(inner) => (14, inner.full_name().to_string()),
                    other => (kind_number(&other), String::new()),
                };
                json!({
                    "name": field.name(),
                    "number": field.number(),
                    "type": type_number,
                    "type_name": type_name,
                    "repeated": field.cardinality() == Cardinality::Repeated && !field.is_map(),
                    "map": field.is_map(),
                    // proto3 `optional`: presence is sent even for a zero.
                    "explicit": field.supports_presence() && !matches!(field.kind(), Kind::Message(_)),
                    "oneof": field.containing_oneof().is_some_and(|oneof| !oneof.is_synthetic()),
                })
            })
            .collect();
        messages.insert(message.full_name().to_string(), json!({ "fields": fields }));
    }
    let mut enums = Map::new();
    for descriptor in pool.all_enums() {
        let values: Map<String, Value> = descriptor
            .values()
            .map(|value| (value.name().to_string(), json!(value.number())))
            .collect();
        enums.insert(descriptor.full_name().to_string(), Value::Object(values));
    }
    let mut services = Map::new();
    for service in pool.services() {
        let methods: Map<String, Value> = service
            .methods()
            .map(|method| {
                (
                    method.name().to_string(),
                    json!({
                        "input": method.input().full_name(),
                        "output": method.output().full_name(),
                        "server_streaming": method.is_server_streaming(),
                        "client_streaming": method.is_client_streaming(),
                    }),
                )
            })
            .collect();
        services.insert(service.full_name().to_string(), Value::Object(methods));
    }
    Ok(json!({ "messages": messages, "enums": enums, "services": services }).to_string())
}

/// The wire type numbers of FieldDescriptorProto.Type for scalar kinds.
fn kind_number(kind: &Kind) -> u8 {
    match kind {
        Kind::Double => 1,
        Kind::Float => 2,
        Kind::Int64 => 3,
        Kind::Uint64 => 4,
        Kind::Int32 => 5,
        Kind::Fixed64 => 6,
        Kind::Fixed32 => 7,
        Kind::Bool => 8,
        Kind::String => 9,
        Kind::Bytes => 12,
        Kind::Uint32 => 13,
        Kind::Sfixed32 => 15,
        Kind::Sfixed64 => 16,
        Kind::Sint32 => 17,
        Kind::Sint64 => 18,
        Kind::Message(_) => 11,
        Kind::Enum(_) => 14,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_describes_the_rpcs_the_console_calls() {
        let schema: Value = serde_json::from_str(json().expect("schema")).expect("json");
        let list = &schema["services"]["callscore.v1.CallService"]["ListCalls"];
        assert_eq!(list["input"], "callscore.v1.ListCallsRequest");
        assert_eq!(
            schema["services"]["callscore.v1.CallService"]["GetCallAudio"]["server_streaming"],
            true
        );
        let fields = schema["messages"]["callscore.v1.CheckOverride"]["fields"]
            .as_array()
            .expect("fields");
        let fraction = fields
            .iter()
            .find(|f| f["name"] == "fraction")
            .expect("fraction");
        assert_eq!(fraction["explicit"], true);
        assert_eq!(fraction["type"], 1);
        let detectors = schema["messages"]["callscore.v1.ScorerVersions"]["fields"][0].clone();
        assert_eq!(detectors["map"], true);
        assert_eq!(
            schema["enums"]["callscore.v1.CallStatus"]["CALL_STATUS_SCORED"],
            3
        );
        let payload = schema["messages"]["callscore.v1.SubmitCallRequest"]["fields"][1].clone();
        assert_eq!(payload["oneof"], true);
    }
}
