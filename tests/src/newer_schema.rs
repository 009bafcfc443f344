//! Records written by a producer one schema version ahead of the worker: the
//! `Consistency` enum gains a symbol the worker does not know.

use apache_avro::rabin::Rabin;
use apache_avro::types::Value;
use apache_avro::Schema;
use offload_schemas::{Codec, DispatchEvent, DISPATCH_EVENT_SCHEMA};

/// The symbol the newer version adds.
pub const NEW_SYMBOL: &str = "NODE_LOCAL";

/// Returns the current schema with [`NEW_SYMBOL`] appended to `Consistency`.
pub fn newer_schema_json() -> anyhow::Result<String> {
    let mut schema: serde_json::Value = serde_json::from_str(DISPATCH_EVENT_SCHEMA)?;
    let added = add_symbol(&mut schema);
    anyhow::ensure!(added, "the schema has no enum named Consistency");
    Ok(serde_json::to_string_pretty(&schema)?)
}

fn add_symbol(node: &mut serde_json::Value) -> bool {
    match node {
        serde_json::Value::Object(map) => {
            let is_consistency = map.get("type").and_then(|kind| kind.as_str()) == Some("enum")
                && map.get("name").and_then(|name| name.as_str()) == Some("Consistency");
            if is_consistency {
                if let Some(serde_json::Value::Array(symbols)) = map.get_mut("symbols") {
                    symbols.push(NEW_SYMBOL.into());
                    return true;
                }
            }
            map.values_mut().any(add_symbol)
        }
        serde_json::Value::Array(items) => items.iter_mut().any(add_symbol),
        _ => false,
    }
}

/// Encodes `event` with the newer schema, its `consistency` (which must be
/// set) replaced by [`NEW_SYMBOL`].
pub fn encode_with_new_symbol(event: &DispatchEvent) -> anyhow::Result<Vec<u8>> {
    let newer = Schema::parse_str(&newer_schema_json()?)?;
    let current = Codec::new();
    let record = current.encode(event)?;
    let mut datum = &record[10..];
    let mut value = apache_avro::from_avro_datum(current.schema(), &mut datum, None)?;

    let index = symbol_index(&newer)?;
    anyhow::ensure!(
        replace_enum(&mut value, index),
        "the event has no consistency level set"
    );

    let mut encoded = vec![0xC3, 0x01];
    encoded.extend_from_slice(&newer.fingerprint::<Rabin>().bytes);
    encoded.extend_from_slice(&apache_avro::to_avro_datum(&newer, value)?);
    Ok(encoded)
}

fn symbol_index(newer: &Schema) -> anyhow::Result<u32> {
    let json: serde_json::Value = serde_json::from_str(&newer.canonical_form())?;
    let mut found = None;
    find_symbols(&json, &mut found);
    let symbols = found.ok_or_else(|| anyhow::anyhow!("no Consistency enum"))?;
    let index = symbols
        .iter()
        .position(|symbol| symbol == NEW_SYMBOL)
        .expect("the symbol was added");
    Ok(index as u32)
}

fn find_symbols(node: &serde_json::Value, found: &mut Option<Vec<String>>) {
    match node {
        serde_json::Value::Object(map) => {
            let name = map.get("name").and_then(|name| name.as_str()).unwrap_or_default();
            if (name == "Consistency" || name.ends_with(".Consistency"))
                && map.get("type").and_then(|kind| kind.as_str()) == Some("enum")
            {
                let symbols = map
                    .get("symbols")
                    .and_then(|symbols| symbols.as_array())
                    .cloned()
                    .unwrap_or_default();
                *found = Some(
                    symbols
                        .iter()
                        .filter_map(|symbol| symbol.as_str().map(String::from))
                        .collect(),
                );
                return;
            }
            map.values().for_each(|child| find_symbols(child, found));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|child| find_symbols(child, found)),
        _ => {}
    }
}

/// Replaces the first enum value named like a consistency level. Returns
/// whether one was found.
fn replace_enum(value: &mut Value, index: u32) -> bool {
    match value {
        Value::Enum(_, symbol) if symbol == "LOCAL_ONE" => {
            *value = Value::Enum(index, NEW_SYMBOL.into());
            true
        }
        Value::Record(fields) => fields.iter_mut().any(|(_, field)| replace_enum(field, index)),
        Value::Union(_, inner) => replace_enum(inner, index),
        Value::Array(items) => items.iter_mut().any(|item| replace_enum(item, index)),
        _ => false,
    }
}
