//! Writing the IR back to a `.tflite` FlatBuffer that LiteRT loads.
//!
//! Operators that are unchanged since the graph was read from a file (the same op,
//! inputs and outputs as one of its operators) are stored as that file stored them:
//! every options field, custom options, intermediates and the operator code's
//! version. Other operators are encoded from the IR with every field the schema
//! gives them. Either way an operator whose activations are int16 gets at least
//! the version the converter gives that signature (see `versions`). Subgraphs,
//! signatures, metadata, sparsity and constant buffers (one buffer per shared
//! constant, 16-byte aligned) are written from the IR.

use super::encode::encode;
use super::reader::FILE_IDENTIFIER;
use super::stored::{emit, slot, stored_operators, Offset, StoredOperator, Value};
use super::versions::apply_int16;
use crate::error::{Error, Result};
use crate::graph::{DimensionMetadata, Graph, Node, Op, Sparsity, Subgraph, TensorInfo};
use flatbuffers::{FlatBufferBuilder, Push, PushAlignment};
use std::collections::HashMap;

/// Serialize a graph to `.tflite` bytes (schema version 3, identifier "TFL3"),
/// encoding every operator from the IR.
///
/// Ops that exist only inside this crate give an error naming the node.
pub fn write(graph: &Graph) -> Result<Vec<u8>> {
    build(graph, &[])
}

/// Serialize a graph that was read from the `.tflite` file `source` and possibly
/// changed since: operators equal to one of `source`'s (op, inputs and outputs)
/// keep exactly the fields and version `source` gave them; the rest are encoded
/// from the IR, as [`write()`] does.
pub fn write_from(graph: &Graph, source: &[u8]) -> Result<Vec<u8>> {
    let stored = stored_operators(source)?;
    build(graph, &stored)
}

/// The stored operators of one subgraph, looked up by node.
struct Matcher<'a> {
    ops: &'a [StoredOperator],
    by_outputs: HashMap<&'a [usize], Vec<usize>>,
    used: Vec<bool>,
}

impl<'a> Matcher<'a> {
    fn new(ops: &'a [StoredOperator]) -> Self {
        let mut by_outputs: HashMap<&[usize], Vec<usize>> = HashMap::new();
        for (i, op) in ops.iter().enumerate() {
            by_outputs.entry(&op.node.outputs).or_default().push(i);
        }
        Matcher {
            ops,
            by_outputs,
            used: vec![false; ops.len()],
        }
    }

    /// The first unused stored operator equal to `node`. For an op this crate
    /// does not know, whose options the IR cannot hold, one with the same op and
    /// outputs and other inputs (a tensor before it was replaced) will do: its
    /// stored fields are all there is to write.
    fn take(&mut self, node: &Node) -> Option<&'a StoredOperator> {
        let candidates = self.by_outputs.get(node.outputs.as_slice())?;
        let unused = || candidates.iter().copied().filter(|&i| !self.used[i]);
        let i = unused().find(|&i| self.ops[i].node == *node).or_else(|| {
            matches!(node.op, Op::Unknown { .. })
                .then(|| unused().find(|&i| self.ops[i].node.op == node.op))
                .flatten()
        })?;
        self.used[i] = true;
        Some(&self.ops[i])
    }
}

/// A zero-sized push that aligns the builder to 16 bytes.
struct Align16;

impl Push for Align16 {
    type Output = ();
    // SAFETY: nothing is written; the builder reserved the (empty) space.
    unsafe fn push(&self, _dst: &mut [u8], _written_len: usize) {}
    fn size() -> usize {
        0
    }
    fn alignment() -> PushAlignment {
        PushAlignment::new(16)
    }
}

/// A `Buffer` table whose data starts on a 16-byte boundary of the file, as
/// LiteRT's converter aligns constant data.
fn buffer_table(fbb: &mut FlatBufferBuilder, data: &[u8]) -> Offset {
    let bytes = (!data.is_empty()).then(|| {
        fbb.push(Align16);
        for _ in 0..(16 - data.len() % 16) % 16 {
            fbb.push(0u8);
        }
        fbb.create_vector(data)
    });
    let start = fbb.start_table();
    if let Some(b) = bytes {
        fbb.push_slot_always(slot(0), b);
    }
    fbb.end_table(start)
}

/// A `SparseIndexVector` in the smallest element type that holds its values:
/// (union tag, table).
fn index_vector(fbb: &mut FlatBufferBuilder, values: &[u32]) -> (u8, Offset) {
    let max = values.iter().copied().max().unwrap_or(0);
    let (tag, v) = if max <= u8::MAX as u32 {
        let v: Vec<u8> = values.iter().map(|&x| x as u8).collect();
        (3, fbb.create_vector(&v).as_union_value())
    } else if max <= u16::MAX as u32 {
        let v: Vec<u16> = values.iter().map(|&x| x as u16).collect();
        (2, fbb.create_vector(&v).as_union_value())
    } else {
        let v: Vec<i32> = values.iter().map(|&x| x as i32).collect();
        (1, fbb.create_vector(&v).as_union_value())
    };
    let start = fbb.start_table();
    fbb.push_slot_always(slot(0), v);
    (tag, fbb.end_table(start))
}

fn sparsity_table(fbb: &mut FlatBufferBuilder, sp: &Sparsity) -> Offset {
    let ints = |v: &[usize]| -> Vec<i32> { v.iter().map(|&x| x as i32).collect() };
    let traversal = fbb.create_vector(&ints(&sp.traversal_order));
    let block_map = fbb.create_vector(&ints(&sp.block_map));
    let dims: Vec<Offset> = sp
        .dim_metadata
        .iter()
        .map(|d| match d {
            DimensionMetadata::Dense(size) => {
                let start = fbb.start_table();
                fbb.push_slot_always::<i8>(slot(0), 0);
                fbb.push_slot_always::<i32>(slot(1), *size as i32);
                fbb.end_table(start)
            }
            DimensionMetadata::Sparse { segments, indices } => {
                let (st, s) = index_vector(fbb, segments);
                let (it, i) = index_vector(fbb, indices);
                let start = fbb.start_table();
                fbb.push_slot_always::<i8>(slot(0), 1);
                fbb.push_slot_always::<u8>(slot(2), st);
                fbb.push_slot_always(slot(3), s);
                fbb.push_slot_always::<u8>(slot(4), it);
                fbb.push_slot_always(slot(5), i);
                fbb.end_table(start)
            }
        })
        .collect();
    let dims = fbb.create_vector(&dims);
    let start = fbb.start_table();
    fbb.push_slot_always(slot(0), traversal);
    fbb.push_slot_always(slot(1), block_map);
    fbb.push_slot_always(slot(2), dims);
    fbb.end_table(start)
}

fn tensor_table(fbb: &mut FlatBufferBuilder, t: &TensorInfo, buffer: u32) -> Offset {
    let shape: Vec<i32> = t.shape.iter().map(|&d| d as i32).collect();
    let shape = fbb.create_vector(&shape);
    let name = fbb.create_string(&t.name);
    let quant = t.quantization.as_ref().map(|q| match q.block {
        // BlockwiseQuantization details (union tag 2): the scales tensor, no zero
        // points (-1), the block size; scale and zero_point are left out, as the
        // schema says the details replace them.
        Some(block) => {
            let start = fbb.start_table();
            fbb.push_slot_always::<i32>(slot(0), block.scales as i32);
            fbb.push_slot_always::<i32>(slot(1), -1);
            fbb.push_slot_always::<i32>(slot(2), block.size as i32);
            let details = fbb.end_table(start);
            let start = fbb.start_table();
            fbb.push_slot_always::<u8>(slot(4), 2);
            fbb.push_slot_always(slot(5), details);
            fbb.push_slot_always::<i32>(slot(6), q.axis as i32);
            fbb.end_table(start)
        }
        None => {
            let scale = fbb.create_vector(&q.scale);
            let zp = fbb.create_vector(&q.zero_point);
            let start = fbb.start_table();
            fbb.push_slot_always(slot(2), scale);
            fbb.push_slot_always(slot(3), zp);
            fbb.push_slot_always::<i32>(slot(6), q.axis as i32);
            fbb.end_table(start)
        }
    });
    let signature = t.shape_signature.as_ref().map(|s| fbb.create_vector(s));
    let sparsity = t.sparsity.as_ref().map(|sp| sparsity_table(fbb, sp));
    let start = fbb.start_table();
    fbb.push_slot_always(slot(0), shape);
    fbb.push_slot_always::<i8>(slot(1), t.dtype.code());
    fbb.push_slot_always::<u32>(slot(2), buffer);
    fbb.push_slot_always(slot(3), name);
    if let Some(q) = quant {
        fbb.push_slot_always(slot(4), q);
    }
    if t.is_variable {
        fbb.push_slot_always::<bool>(slot(5), true);
    }
    if let Some(sp) = sparsity {
        fbb.push_slot_always(slot(6), sp);
    }
    if let Some(s) = signature {
        fbb.push_slot_always(slot(7), s);
    }
    fbb.end_table(start)
}

/// The operator code key: (builtin code, custom code, version).
type OpcodeKey = (i32, Option<String>, i32);

/// Buffers of the model, one per distinct constant.
struct Buffers {
    tables: Vec<Offset>,
    by_data: HashMap<(usize, usize), u32>,
}

impl Buffers {
    fn add(&mut self, fbb: &mut FlatBufferBuilder, data: &[u8]) -> u32 {
        let key = (data.as_ptr() as usize, data.len());
        if !data.is_empty() {
            if let Some(&b) = self.by_data.get(&key) {
                return b;
            }
        }
        self.tables.push(buffer_table(fbb, data));
        let b = (self.tables.len() - 1) as u32;
        self.by_data.insert(key, b);
        b
    }
}

fn subgraph_table(
    fbb: &mut FlatBufferBuilder,
    s: usize,
    sg: &Subgraph,
    stored: &[StoredOperator],
    buffers: &mut Buffers,
    opcodes: &mut Vec<OpcodeKey>,
) -> Result<Offset> {
    let mut tensors = Vec::new();
    for info in &sg.tensors {
        let buffer = match &info.data {
            Some(data) => buffers.add(fbb, data),
            None => 0,
        };
        tensors.push(tensor_table(fbb, info, buffer));
    }
    let mut matcher = Matcher::new(stored);
    let mut operators = Vec::new();
    for (n, node) in sg.nodes.iter().enumerate() {
        let (mut key, mut fields) = match matcher.take(node) {
            Some(st) => ((st.code, st.custom.clone(), st.version), st.fields.clone()),
            None => {
                let enc = encode(node, sg).ok_or_else(|| {
                    Error::node(
                        n,
                        node.op.name(),
                        format!("the writer cannot store this op (subgraph {s})"),
                    )
                })?;
                ((enc.code, enc.custom.clone(), enc.version()), enc.fields())
            }
        };
        if key.1.is_none() {
            apply_int16(key.0, node, sg, &mut key.2, &mut fields);
        }
        let oc = match opcodes.iter().position(|c| *c == key) {
            Some(i) => i,
            None => {
                opcodes.push(key);
                opcodes.len() - 1
            }
        };
        let ints = |v: &mut dyn Iterator<Item = i32>| Value::Vector {
            elem: 4,
            bytes: v.flat_map(|x| x.to_le_bytes()).collect(),
        };
        let mut all = vec![
            (
                0,
                Value::Scalar {
                    size: 4,
                    bits: oc as u64,
                },
            ),
            (
                1,
                ints(&mut node.inputs.iter().map(|i| i.map_or(-1, |i| i as i32))),
            ),
            (2, ints(&mut node.outputs.iter().map(|&o| o as i32))),
        ];
        all.extend(fields);
        operators.push(emit(fbb, &all));
    }
    let tensors = fbb.create_vector(&tensors);
    let inputs: Vec<i32> = sg.inputs.iter().map(|&i| i as i32).collect();
    let outputs: Vec<i32> = sg.outputs.iter().map(|&i| i as i32).collect();
    let inputs = fbb.create_vector(&inputs);
    let outputs = fbb.create_vector(&outputs);
    let operators = fbb.create_vector(&operators);
    let name = fbb.create_string(&sg.name);
    let start = fbb.start_table();
    fbb.push_slot_always(slot(0), tensors);
    fbb.push_slot_always(slot(1), inputs);
    fbb.push_slot_always(slot(2), outputs);
    fbb.push_slot_always(slot(3), operators);
    fbb.push_slot_always(slot(4), name);
    Ok(fbb.end_table(start))
}

fn tensor_maps(fbb: &mut FlatBufferBuilder, entries: &[(String, usize)]) -> Vec<Offset> {
    entries
        .iter()
        .map(|(name, t)| {
            let name = fbb.create_string(name);
            let start = fbb.start_table();
            fbb.push_slot_always(slot(0), name);
            fbb.push_slot_always::<u32>(slot(1), *t as u32);
            fbb.end_table(start)
        })
        .collect()
}

fn build(graph: &Graph, stored: &[Vec<StoredOperator>]) -> Result<Vec<u8>> {
    let mut fbb = FlatBufferBuilder::with_capacity(1 << 16);
    let mut opcodes: Vec<OpcodeKey> = Vec::new();
    let empty = {
        let start = fbb.start_table();
        fbb.end_table(start)
    };
    let mut buffers = Buffers {
        tables: vec![empty],
        by_data: HashMap::new(),
    };

    let mut subgraphs = Vec::new();
    for (s, sg) in graph.subgraphs.iter().enumerate() {
        let ops = stored.get(s).map_or(&[][..], |v| v.as_slice());
        subgraphs.push(subgraph_table(
            &mut fbb,
            s,
            sg,
            ops,
            &mut buffers,
            &mut opcodes,
        )?);
    }

    let metadata: Vec<Offset> = graph
        .metadata
        .iter()
        .map(|(name, data)| {
            let b = buffers.add(&mut fbb, data);
            let name = fbb.create_string(name);
            let start = fbb.start_table();
            fbb.push_slot_always(slot(0), name);
            fbb.push_slot_always::<u32>(slot(1), b);
            fbb.end_table(start)
        })
        .collect();
    let signatures: Vec<Offset> = graph
        .signatures
        .iter()
        .map(|sig| {
            let inputs = tensor_maps(&mut fbb, &sig.inputs);
            let inputs = fbb.create_vector(&inputs);
            let outputs = tensor_maps(&mut fbb, &sig.outputs);
            let outputs = fbb.create_vector(&outputs);
            let key = fbb.create_string(&sig.key);
            let start = fbb.start_table();
            fbb.push_slot_always(slot(0), inputs);
            fbb.push_slot_always(slot(1), outputs);
            fbb.push_slot_always(slot(2), key);
            fbb.push_slot_always::<u32>(slot(4), sig.subgraph as u32);
            fbb.end_table(start)
        })
        .collect();

    let opcode_tables: Vec<Offset> = opcodes
        .iter()
        .map(|(c, custom, version)| {
            let c = *c;
            let custom = custom.as_ref().map(|name| fbb.create_string(name));
            let start = fbb.start_table();
            fbb.push_slot_always::<i8>(slot(0), c.min(127) as i8);
            if let Some(name) = custom {
                fbb.push_slot_always(slot(1), name);
            }
            fbb.push_slot_always::<i32>(slot(2), *version);
            fbb.push_slot_always::<i32>(slot(3), c);
            fbb.end_table(start)
        })
        .collect();
    let opcode_vec = fbb.create_vector(&opcode_tables);
    let subgraph_vec = fbb.create_vector(&subgraphs);
    let buffer_vec = fbb.create_vector(&buffers.tables);
    let metadata_vec = (!metadata.is_empty()).then(|| fbb.create_vector(&metadata));
    let signature_vec = (!signatures.is_empty()).then(|| fbb.create_vector(&signatures));
    let description = fbb.create_string(if graph.description.is_empty() {
        "tflite-wgpu"
    } else {
        &graph.description
    });
    let start = fbb.start_table();
    fbb.push_slot_always::<u32>(slot(0), 3);
    fbb.push_slot_always(slot(1), opcode_vec);
    fbb.push_slot_always(slot(2), subgraph_vec);
    fbb.push_slot_always(slot(3), description);
    fbb.push_slot_always(slot(4), buffer_vec);
    if let Some(m) = metadata_vec {
        fbb.push_slot_always(slot(6), m);
    }
    if let Some(s) = signature_vec {
        fbb.push_slot_always(slot(7), s);
    }
    let root = fbb.end_table(start);
    let ident = std::str::from_utf8(FILE_IDENTIFIER).unwrap_or("TFL3");
    fbb.finish(root, Some(ident));
    Ok(fbb.finished_data().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::op::{Activation, Binary};
    use crate::graph::DType;

    fn add_graph() -> Graph {
        let sg = Subgraph {
            name: "main".into(),
            tensors: vec![
                TensorInfo::new("a", DType::F32, vec![2]),
                TensorInfo::new("b", DType::F32, vec![2]),
                TensorInfo::new("y", DType::F32, vec![2]),
                TensorInfo::new("z", DType::F32, vec![2]),
            ],
            nodes: vec![
                Node {
                    op: Op::Binary(Binary::Add, Activation::Relu),
                    inputs: vec![Some(0), Some(1)],
                    outputs: vec![2],
                },
                Node {
                    op: Op::Unknown {
                        name: "SomeCustomOp".into(),
                    },
                    inputs: vec![Some(2)],
                    outputs: vec![3],
                },
            ],
            inputs: vec![0, 1],
            outputs: vec![3],
        };
        Graph {
            subgraphs: vec![sg],
            version: 3,
            ..Default::default()
        }
    }

    fn scalar(size: u8, bits: u64) -> Value {
        Value::Scalar { size, bits }
    }

    /// A source file whose ADD has fields the IR does not hold (pot_scale_int16,
    /// intermediates, debug metadata) and version 4, and whose custom op has
    /// custom options.
    fn source() -> (Graph, Vec<u8>) {
        let graph = add_graph();
        let sg = graph.main();
        let add = StoredOperator {
            node: sg.nodes[0].clone(),
            code: crate::model::code::ADD,
            custom: None,
            version: 4,
            fields: vec![
                (3, scalar(1, 11)),
                (4, Value::Table(vec![(0, scalar(1, 1)), (1, scalar(1, 0))])),
                (
                    8,
                    Value::Vector {
                        elem: 4,
                        bytes: vec![1, 0, 0, 0],
                    },
                ),
                (13, scalar(4, 7)),
            ],
        };
        let custom = StoredOperator {
            node: sg.nodes[1].clone(),
            code: crate::model::code::CUSTOM,
            custom: Some("SomeCustomOp".into()),
            version: 2,
            fields: vec![
                (
                    5,
                    Value::Vector {
                        elem: 1,
                        bytes: vec![9, 8, 7],
                    },
                ),
                (6, scalar(1, 0)),
            ],
        };
        let bytes = build(&graph, &[vec![add, custom]]).unwrap();
        (graph, bytes)
    }

    #[test]
    fn unchanged_operators_keep_every_stored_field_and_version() {
        let (graph, bytes) = source();
        let before = stored_operators(&bytes).unwrap();
        let read = crate::model::read(&bytes, &Default::default()).unwrap();
        assert_eq!(read.subgraphs, graph.subgraphs);
        let after = stored_operators(&write_from(&read, &bytes).unwrap()).unwrap();
        for (b, a) in before[0].iter().zip(&after[0]) {
            assert_eq!(
                (a.code, &a.custom, a.version),
                (b.code, &b.custom, b.version)
            );
            assert_eq!(a.fields, b.fields);
        }
        assert_eq!(before[0][0].version, 4);
        assert!(before[0][0].fields.iter().any(|(id, _)| *id == 8));
    }

    #[test]
    fn changed_operators_are_encoded_from_the_ir() {
        let (_, bytes) = source();
        let mut graph = crate::model::read(&bytes, &Default::default()).unwrap();
        graph.subgraphs[0].nodes[0].op = Op::Binary(Binary::Add, Activation::Relu6);
        // The custom op now reads another tensor: it keeps its stored options.
        graph.subgraphs[0]
            .tensors
            .push(TensorInfo::new("c", DType::F32, vec![2]));
        graph.subgraphs[0].nodes[1].inputs = vec![Some(4)];
        let after = stored_operators(&write_from(&graph, &bytes).unwrap()).unwrap();
        let add = &after[0][0];
        assert_eq!(add.version, 1);
        assert_eq!(
            add.fields,
            vec![
                (3, scalar(1, 11)),
                (4, Value::Table(vec![(0, scalar(1, 3))]))
            ]
        );
        assert_eq!(add.node.op, graph.subgraphs[0].nodes[0].op);
        let custom = &after[0][1];
        assert_eq!(custom.version, 2);
        assert!(custom.fields.contains(&(
            5,
            Value::Vector {
                elem: 1,
                bytes: vec![9, 8, 7]
            }
        )));
    }
}
