//! Operators as a file stores them: every field of an operator table besides its
//! opcode and tensors (builtin options of both unions, custom options and their
//! format, intermediates, mutating variable inputs, debug metadata), read by the
//! schema's field layouts rather than decoded, so that the writer can store an
//! operator that did not change exactly as it was read, including the option
//! fields this crate has no use for (PACK's `values_count`, CAST's types, ...).

use super::fb::Table;
use super::option_layouts::{BUILTIN_OPTIONS, BUILTIN_OPTIONS_2};
use super::reader::{read_opcodes, read_operator};
use crate::error::Result;
use crate::graph::Node;
use flatbuffers::{FlatBufferBuilder, UnionWIPOffset, WIPOffset};

/// One field value of a table.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Value {
    /// A scalar of `size` bytes (1, 2, 4 or 8); its bits in the low bytes.
    Scalar {
        /// Bytes.
        size: u8,
        /// The value's bits.
        bits: u64,
    },
    /// A vector of scalars of `elem` bytes each, as little-endian bytes.
    Vector {
        /// Bytes per element.
        elem: u8,
        /// The elements' bytes.
        bytes: Vec<u8>,
    },
    /// A string's bytes.
    Str(Vec<u8>),
    /// A sub-table.
    Table(Fields),
}

/// The present fields of a table: (field id, value), in id order.
pub(super) type Fields = Vec<(usize, Value)>;

/// The Operator table's layout (see `option_layouts`): ids 0-2 (opcode, inputs,
/// outputs) come from the node; `U` and `V` are the tables of the two options
/// unions, whose tags are the fields just before them; 9 and 10 (options outside
/// the flatbuffer) are refused by the reader.
const OPERATOR: &str = "---bUBbBI--bVi";

/// Operator table field ids.
pub(super) mod id {
    /// `builtin_options_type`.
    pub const OPTIONS_TYPE: usize = 3;
    /// `builtin_options`.
    pub const OPTIONS: usize = 4;
    /// `custom_options`.
    pub const CUSTOM_OPTIONS: usize = 5;
}

/// One operator of a source file: the node it decodes to and how it was stored.
#[derive(Debug, Clone)]
pub(super) struct StoredOperator {
    /// The node as the reader decodes it.
    pub node: Node,
    /// The effective builtin code.
    pub code: i32,
    /// The custom code of CUSTOM ops.
    pub custom: Option<String>,
    /// The operator code's version.
    pub version: i32,
    /// Every other field of the operator table.
    pub fields: Fields,
}

/// The operators of every subgraph of the `.tflite` file `bytes`.
pub(super) fn stored_operators(bytes: &[u8]) -> Result<Vec<Vec<StoredOperator>>> {
    let model = Table::root(bytes, "Model")?;
    let opcodes = read_opcodes(&model)?;
    let mut out = Vec::new();
    for (s, sg) in model.tables(2, "SubGraph")?.iter().enumerate() {
        let num_tensors = sg.tables(0, "Tensor")?.len();
        let mut ops = Vec::new();
        for (n, op) in sg.tables(3, "Operator")?.iter().enumerate() {
            let node = read_operator(s, n, op, &opcodes, num_tensors)?;
            // read_operator checked the index.
            let oc = &opcodes[op.scalar::<u32>(0, 0)? as usize];
            ops.push(StoredOperator {
                node,
                code: oc.code,
                custom: oc.custom.clone(),
                version: oc.version,
                fields: read_fields(op, OPERATOR)?,
            });
        }
        out.push(ops);
    }
    Ok(out)
}

/// The present fields of `table` whose layout is `layout`.
fn read_fields(table: &Table, layout: &str) -> Result<Fields> {
    let mut fields = Fields::new();
    for (id, kind) in layout.bytes().enumerate() {
        if !table.has(id)? {
            continue;
        }
        let scalar = |size: u8, bits: u64| Value::Scalar { size, bits };
        let vector = |elem: u8| -> Result<Option<Value>> {
            Ok(table
                .vector_bytes(id, elem as usize)?
                .map(|b| Value::Vector {
                    elem,
                    bytes: b.to_vec(),
                }))
        };
        let value = match kind {
            b'b' => Some(scalar(1, table.scalar::<u8>(id, 0)? as u64)),
            b'h' => Some(scalar(2, table.scalar::<u16>(id, 0)? as u64)),
            b'i' => Some(scalar(4, table.scalar::<u32>(id, 0)? as u64)),
            b'q' => Some(scalar(8, table.scalar::<u64>(id, 0)?)),
            b'B' => vector(1)?,
            b'H' => vector(2)?,
            b'I' => vector(4)?,
            b'Q' => vector(8)?,
            b's' => table.bytes(id)?.map(|b| Value::Str(b.to_vec())),
            b'U' | b'V' => {
                let layouts = if kind == b'U' {
                    BUILTIN_OPTIONS
                } else {
                    BUILTIN_OPTIONS_2
                };
                let tag = table.scalar::<u8>(id - 1, 0)? as usize;
                match (
                    tag.checked_sub(1).and_then(|t| layouts.get(t)),
                    table.table(id, "Options")?,
                ) {
                    (Some(layout), Some(sub)) => Some(Value::Table(read_fields(&sub, layout)?)),
                    _ => {
                        tracing::debug!("options table of unknown union tag {tag} left out");
                        fields.retain(|(f, _)| *f != id - 1);
                        None
                    }
                }
            }
            _ => None,
        };
        if let Some(v) = value {
            fields.push((id, v));
        }
    }
    Ok(fields)
}

/// A table's offset in the builder.
pub(super) type Offset = WIPOffset<flatbuffers::TableFinishedWIPOffset>;

/// The vtable slot of field `id`.
pub(super) fn slot(id: usize) -> u16 {
    (4 + 2 * id) as u16
}

/// A vector of `elem`-byte scalars from their little-endian bytes.
fn vector(fbb: &mut FlatBufferBuilder, elem: u8, bytes: &[u8]) -> WIPOffset<UnionWIPOffset> {
    fn words<const N: usize>(bytes: &[u8]) -> impl Iterator<Item = [u8; N]> + '_ {
        bytes.chunks_exact(N).map(|c| {
            let mut a = [0u8; N];
            a.copy_from_slice(c);
            a
        })
    }
    match elem {
        2 => {
            let v: Vec<u16> = words::<2>(bytes).map(u16::from_le_bytes).collect();
            fbb.create_vector(&v).as_union_value()
        }
        4 => {
            let v: Vec<u32> = words::<4>(bytes).map(u32::from_le_bytes).collect();
            fbb.create_vector(&v).as_union_value()
        }
        8 => {
            let v: Vec<u64> = words::<8>(bytes).map(u64::from_le_bytes).collect();
            fbb.create_vector(&v).as_union_value()
        }
        _ => fbb.create_vector(bytes).as_union_value(),
    }
}

/// Build a table holding `fields`.
pub(super) fn emit(fbb: &mut FlatBufferBuilder, fields: &[(usize, Value)]) -> Offset {
    let refs: Vec<Option<WIPOffset<UnionWIPOffset>>> = fields
        .iter()
        .map(|(_, v)| match v {
            Value::Scalar { .. } => None,
            Value::Vector { elem, bytes } => Some(vector(fbb, *elem, bytes)),
            Value::Str(b) => Some(fbb.create_byte_string(b).as_union_value()),
            Value::Table(f) => Some(emit(fbb, f).as_union_value()),
        })
        .collect();
    let start = fbb.start_table();
    for ((id, v), r) in fields.iter().zip(refs) {
        let slot = slot(*id);
        match (v, r) {
            (Value::Scalar { size: 1, bits }, _) => fbb.push_slot_always::<u8>(slot, *bits as u8),
            (Value::Scalar { size: 2, bits }, _) => fbb.push_slot_always::<u16>(slot, *bits as u16),
            (Value::Scalar { size: 4, bits }, _) => fbb.push_slot_always::<u32>(slot, *bits as u32),
            (Value::Scalar { bits, .. }, _) => fbb.push_slot_always::<u64>(slot, *bits),
            (_, Some(r)) => fbb.push_slot_always(slot, r),
            (_, None) => {}
        }
    }
    fbb.end_table(start)
}
