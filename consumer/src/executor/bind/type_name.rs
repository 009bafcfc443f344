//! CQL names of column types, for messages: `map<text, bigint>` rather than
//! the driver's debug form.

use scylla::frame::response::result::{CollectionType, ColumnType, NativeType};

/// Returns the CQL name of `column`, or the driver's description of the
/// kinds the worker does not bind (vectors, user-defined types, tuples).
pub(crate) fn cql_type_name(column: &ColumnType<'_>) -> String {
    match column {
        ColumnType::Native(native) => native_name(native).to_string(),
        ColumnType::Collection { frozen, typ } => {
            let inner = match typ {
                CollectionType::List(element) => format!("list<{}>", cql_type_name(element)),
                CollectionType::Set(element) => format!("set<{}>", cql_type_name(element)),
                CollectionType::Map(key, value) => {
                    format!("map<{}, {}>", cql_type_name(key), cql_type_name(value))
                }
                other => format!("{other:?}"),
            };
            if *frozen {
                format!("frozen<{inner}>")
            } else {
                inner
            }
        }
        other => format!("{other:?}"),
    }
}

fn native_name(native: &NativeType) -> &'static str {
    match native {
        NativeType::Ascii => "ascii",
        NativeType::Boolean => "boolean",
        NativeType::Blob => "blob",
        NativeType::Counter => "counter",
        NativeType::Date => "date",
        NativeType::Decimal => "decimal",
        NativeType::Double => "double",
        NativeType::Duration => "duration",
        NativeType::Float => "float",
        NativeType::Int => "int",
        NativeType::BigInt => "bigint",
        NativeType::Text => "text",
        NativeType::Timestamp => "timestamp",
        NativeType::Inet => "inet",
        NativeType::SmallInt => "smallint",
        NativeType::TinyInt => "tinyint",
        NativeType::Time => "time",
        NativeType::Timeuuid => "timeuuid",
        NativeType::Uuid => "uuid",
        NativeType::Varint => "varint",
        _ => "an unknown native type",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_cql() {
        let map = ColumnType::Collection {
            frozen: true,
            typ: CollectionType::Map(
                Box::new(ColumnType::Native(NativeType::Text)),
                Box::new(ColumnType::Native(NativeType::BigInt)),
            ),
        };

        assert_eq!(cql_type_name(&ColumnType::Native(NativeType::Uuid)), "uuid");
        assert_eq!(cql_type_name(&map), "frozen<map<text, bigint>>");
    }
}
