//! Legal but unusual forms real converters write: each read, prepared and run.
//! Models come from the writer, or from raw FlatBuffer bytes built here when the
//! writer cannot express the form.

use flatbuffers::{FlatBufferBuilder, WIPOffset};
use std::sync::Arc;
use tflite_wgpu::graph::op::{Activation, FullyConnected, Unary};
use tflite_wgpu::graph::{DType, Graph, Node, Op, Subgraph, TensorInfo};
use tflite_wgpu::{Data, Interpreter, Model, Tensor};

fn f32_bytes(v: &[f32]) -> Arc<[u8]> {
    v.iter()
        .flat_map(|x| x.to_le_bytes())
        .collect::<Vec<_>>()
        .into()
}

fn constant(name: &str, dtype: DType, shape: Vec<usize>, data: Arc<[u8]>) -> TensorInfo {
    TensorInfo {
        data: Some(data),
        ..TensorInfo::new(name, dtype, shape)
    }
}

fn one_subgraph(
    tensors: Vec<TensorInfo>,
    nodes: Vec<Node>,
    inputs: Vec<usize>,
    outputs: Vec<usize>,
) -> Graph {
    Graph {
        subgraphs: vec![Subgraph {
            name: "main".into(),
            tensors,
            nodes,
            inputs,
            outputs,
        }],
        version: 3,
        ..Default::default()
    }
}

fn node(op: Op, inputs: Vec<Option<usize>>, outputs: Vec<usize>) -> Node {
    Node {
        op,
        inputs,
        outputs,
    }
}

fn run(model: &Model, inputs: Vec<Tensor>) -> Vec<Tensor> {
    let mut interp = Interpreter::new(model).expect("prepare");
    for (i, t) in inputs.into_iter().enumerate() {
        interp.set_input(i, t).expect("set_input");
    }
    interp.invoke().expect("invoke");
    (0..interp.num_outputs())
        .map(|i| interp.output(i).unwrap().clone())
        .collect()
}

fn f32s(t: &Tensor) -> Vec<f32> {
    t.as_f32().expect("f32 output").to_vec()
}

/// A RESHAPE whose shape is a constant of shape [0] (a reshape to a scalar): the
/// converter stores that constant with an empty buffer.
fn zero_element_constants_are_constants() {
    let g = one_subgraph(
        vec![
            TensorInfo::new("x", DType::F32, vec![1, 1]),
            constant("shape", DType::I32, vec![0], Arc::from(&[][..])),
            TensorInfo::new("scalar", DType::F32, vec![]),
            TensorInfo::new("y", DType::F32, vec![]),
        ],
        vec![
            node(
                Op::Reshape { new_shape: None },
                vec![Some(0), Some(1)],
                vec![2],
            ),
            node(Op::Unary(Unary::Abs), vec![Some(2)], vec![3]),
        ],
        vec![0],
        vec![3],
    );
    let bytes = tflite_wgpu::model::write(&g).unwrap();
    let model = Model::from_bytes(&bytes).expect("a zero-element constant loads");
    let shape = &model.graph().main().tensors[1];
    assert!(shape.is_constant());
    assert_eq!(shape.num_elements(), 0);
    let out = run(&model, vec![Tensor::new(vec![1, 1], Data::F32(vec![-2.5]))]);
    assert!(out[0].shape.is_empty());
    assert_eq!(f32s(&out[0]), vec![2.5]);
}

/// A zero-row float constant concatenated to a runtime tensor.
fn zero_element_float_constant_in_a_concatenation() {
    let g = one_subgraph(
        vec![
            TensorInfo::new("x", DType::F32, vec![2, 3]),
            constant("none", DType::F32, vec![0, 3], Arc::from(&[][..])),
            TensorInfo::new("y", DType::F32, vec![2, 3]),
        ],
        vec![node(
            Op::Concatenation {
                axis: 0,
                activation: Activation::None,
            },
            vec![Some(1), Some(0)],
            vec![2],
        )],
        vec![0],
        vec![2],
    );
    let model = Model::from_bytes(&tflite_wgpu::model::write(&g).unwrap()).unwrap();
    let x: Vec<f32> = (0..6).map(|i| i as f32 - 2.0).collect();
    let out = run(&model, vec![Tensor::new(vec![2, 3], Data::F32(x.clone()))]);
    assert_eq!(out[0].shape, vec![2, 3]);
    assert_eq!(f32s(&out[0]), x);
}

/// A zero-element tensor that a node writes stays a runtime tensor, and one with
/// elements that nothing writes is still an error naming it.
fn only_unwritten_zero_element_tensors_become_constants() {
    let g = one_subgraph(
        vec![
            TensorInfo::new("x", DType::F32, vec![2, 2]),
            TensorInfo::new("missing", DType::F32, vec![2, 2]),
            TensorInfo::new("y", DType::F32, vec![2, 2]),
        ],
        vec![node(
            Op::Binary(tflite_wgpu::graph::op::Binary::Add, Activation::None),
            vec![Some(0), Some(1)],
            vec![2],
        )],
        vec![0],
        vec![2],
    );
    let e = Model::from_bytes(&tflite_wgpu::model::write(&g).unwrap()).unwrap_err();
    assert!(
        e.to_string()
            .contains("reads tensor 1, which nothing writes"),
        "{e}"
    );
}

/// FULLY_CONNECTED without a bias: the optional input is -1 in the file.
fn optional_inputs_as_minus_one() {
    let g = one_subgraph(
        vec![
            TensorInfo::new("x", DType::F32, vec![1, 3]),
            constant(
                "w",
                DType::F32,
                vec![2, 3],
                f32_bytes(&[1., 2., 3., -1., 0., 1.]),
            ),
            TensorInfo::new("y", DType::F32, vec![1, 2]),
        ],
        vec![node(
            Op::FullyConnected(FullyConnected {
                activation: Activation::None,
                keep_num_dims: false,
                asymmetric_quantize_inputs: false,
            }),
            vec![Some(0), Some(1), None],
            vec![2],
        )],
        vec![0],
        vec![2],
    );
    let model = Model::from_bytes(&tflite_wgpu::model::write(&g).unwrap()).unwrap();
    assert_eq!(
        model.graph().main().nodes[0].inputs,
        vec![Some(0), Some(1), None]
    );
    let out = run(
        &model,
        vec![Tensor::new(vec![1, 3], Data::F32(vec![1., 1., 2.]))],
    );
    assert_eq!(f32s(&out[0]), vec![9., 1.]);
}

// Raw FlatBuffers for the forms the writer never produces.

fn slot(id: usize) -> u16 {
    (4 + 2 * id) as u16
}

/// One tensor: shape, type code, buffer index and shape signature.
struct RawTensor(Vec<i32>, i8, u32, Option<Vec<i32>>);

struct RawSubgraph {
    tensors: Vec<RawTensor>,
    /// (opcode index, inputs, outputs).
    operators: Vec<(u32, Vec<i32>, Vec<i32>)>,
    inputs: Vec<i32>,
    outputs: Vec<i32>,
}

/// An operator code: deprecated_builtin_code and builtin_code, each only written
/// when given.
struct RawOpcode(Option<i8>, Option<i32>);

struct RawModel {
    /// Buffer contents; None writes a buffer without a data field.
    buffers: Vec<Option<Vec<u8>>>,
    opcodes: Vec<RawOpcode>,
    subgraphs: Vec<RawSubgraph>,
}

impl RawModel {
    fn build(&self) -> Vec<u8> {
        let mut fbb = FlatBufferBuilder::new();
        let mut subgraphs = Vec::new();
        for sg in &self.subgraphs {
            let tensors: Vec<WIPOffset<_>> = sg
                .tensors
                .iter()
                .enumerate()
                .map(|(i, RawTensor(shape, ty, buf, sig))| {
                    let shape = fbb.create_vector(shape);
                    let sig = sig.as_ref().map(|s| fbb.create_vector(s));
                    let name = fbb.create_string(&format!("t{i}"));
                    let s = fbb.start_table();
                    fbb.push_slot_always(slot(0), shape);
                    fbb.push_slot_always::<i8>(slot(1), *ty);
                    fbb.push_slot_always::<u32>(slot(2), *buf);
                    fbb.push_slot_always(slot(3), name);
                    if let Some(sig) = sig {
                        fbb.push_slot_always(slot(7), sig);
                    }
                    fbb.end_table(s)
                })
                .collect();
            let ops: Vec<WIPOffset<_>> = sg
                .operators
                .iter()
                .map(|(oc, ins, outs)| {
                    let ins = fbb.create_vector(ins);
                    let outs = fbb.create_vector(outs);
                    let s = fbb.start_table();
                    fbb.push_slot_always::<u32>(slot(0), *oc);
                    fbb.push_slot_always(slot(1), ins);
                    fbb.push_slot_always(slot(2), outs);
                    fbb.end_table(s)
                })
                .collect();
            let tensors = fbb.create_vector(&tensors);
            let ops = fbb.create_vector(&ops);
            let ins = fbb.create_vector(&sg.inputs);
            let outs = fbb.create_vector(&sg.outputs);
            let s = fbb.start_table();
            fbb.push_slot_always(slot(0), tensors);
            fbb.push_slot_always(slot(1), ins);
            fbb.push_slot_always(slot(2), outs);
            fbb.push_slot_always(slot(3), ops);
            subgraphs.push(fbb.end_table(s));
        }
        let buffers: Vec<WIPOffset<_>> = self
            .buffers
            .iter()
            .map(|b| {
                let data = b.as_ref().map(|b| fbb.create_vector(b));
                let s = fbb.start_table();
                if let Some(d) = data {
                    fbb.push_slot_always(slot(0), d);
                }
                fbb.end_table(s)
            })
            .collect();
        let opcodes: Vec<WIPOffset<_>> = self
            .opcodes
            .iter()
            .map(|RawOpcode(deprecated, builtin)| {
                let s = fbb.start_table();
                if let Some(d) = deprecated {
                    fbb.push_slot_always::<i8>(slot(0), *d);
                }
                if let Some(b) = builtin {
                    fbb.push_slot_always::<i32>(slot(3), *b);
                }
                fbb.end_table(s)
            })
            .collect();
        let subgraphs = fbb.create_vector(&subgraphs);
        let buffers = fbb.create_vector(&buffers);
        let opcodes = fbb.create_vector(&opcodes);
        let s = fbb.start_table();
        fbb.push_slot_always::<u32>(slot(0), 3);
        fbb.push_slot_always(slot(1), opcodes);
        fbb.push_slot_always(slot(2), subgraphs);
        fbb.push_slot_always(slot(4), buffers);
        let root = fbb.end_table(s);
        fbb.finish(root, Some("TFL3"));
        fbb.finished_data().to_vec()
    }
}

const ABS: i32 = 101;
const ADD: i32 = 0;
const GELU: i32 = 150;

/// ABS over a [2, 2] float tensor, both tensors on buffer `buffer`.
fn abs_subgraph(buffer: u32, signature: Option<Vec<i32>>) -> RawSubgraph {
    RawSubgraph {
        tensors: vec![
            RawTensor(vec![2, 2], 0, buffer, signature),
            RawTensor(vec![2, 2], 0, buffer, None),
        ],
        operators: vec![(0, vec![0], vec![1])],
        inputs: vec![0],
        outputs: vec![1],
    }
}

fn input() -> Tensor {
    Tensor::new(vec![2, 2], Data::F32(vec![-1.0, 2.0, -3.5, 0.0]))
}

/// Buffer 0 is the empty sentinel: bytes left in it are not any tensor's data.
fn buffer_zero_with_data_is_not_a_constant() {
    let raw = RawModel {
        buffers: vec![Some(vec![7; 16])],
        opcodes: vec![RawOpcode(Some(ABS as i8), Some(ABS))],
        subgraphs: vec![abs_subgraph(0, None)],
    };
    let model = Model::from_bytes(&raw.build()).expect("loads");
    assert!(!model.graph().main().tensors[0].is_constant());
    let out = run(&model, vec![input()]);
    assert_eq!(f32s(&out[0]), vec![1.0, 2.0, 3.5, 0.0]);
}

/// An empty shape signature means the static shape.
fn empty_shape_signature_is_the_static_shape() {
    let raw = RawModel {
        buffers: vec![None],
        opcodes: vec![RawOpcode(Some(ABS as i8), Some(ABS))],
        subgraphs: vec![abs_subgraph(0, Some(vec![]))],
    };
    let model = Model::from_bytes(&raw.build()).expect("loads");
    assert_eq!(model.graph().main().tensors[0].shape_signature, None);
    let out = run(&model, vec![input()]);
    assert_eq!(f32s(&out[0]), vec![1.0, 2.0, 3.5, 0.0]);

    let raw = RawModel {
        buffers: vec![None],
        opcodes: vec![RawOpcode(Some(ABS as i8), Some(ABS))],
        subgraphs: vec![abs_subgraph(0, Some(vec![-1, 2]))],
    };
    let model = Model::from_bytes(&raw.build()).unwrap();
    assert_eq!(
        model.graph().main().tensors[0].shape_signature,
        Some(vec![-1, 2])
    );
}

/// The effective operator code is max(deprecated_builtin_code, builtin_code): old
/// files set only the deprecated field, new ones put 127 there
/// (PLACEHOLDER_FOR_GREATER_OP_CODES) for codes past 127.
fn operator_codes_from_either_field() {
    let cases = [
        (RawOpcode(Some(ABS as i8), None), "ABS"),
        (RawOpcode(None, Some(ABS)), "ABS"),
        (RawOpcode(Some(ABS as i8), Some(ADD)), "ABS"),
        (RawOpcode(Some(127), Some(GELU)), "GELU"),
        (RawOpcode(None, None), "ADD"),
    ];
    for (opcode, name) in cases {
        let raw = RawModel {
            buffers: vec![None],
            opcodes: vec![opcode],
            subgraphs: vec![abs_subgraph(0, None)],
        };
        let model = Model::from_bytes(&raw.build()).expect("loads");
        assert_eq!(model.graph().main().nodes[0].op.name(), name);
    }
}

/// Each subgraph has its own tensor list; two of them may name the same buffer.
fn subgraphs_share_a_buffer() {
    let c = [0.5f32, -1.0, 2.0, 4.0];
    let add = |x: u32| RawSubgraph {
        tensors: vec![
            RawTensor(vec![2, 2], 0, 0, None),
            RawTensor(vec![2, 2], 0, x, None),
            RawTensor(vec![2, 2], 0, 0, None),
        ],
        operators: vec![(0, vec![0, 1], vec![2])],
        inputs: vec![0],
        outputs: vec![2],
    };
    let raw = RawModel {
        buffers: vec![None, Some(f32_bytes(&c).to_vec())],
        opcodes: vec![RawOpcode(None, Some(ADD))],
        subgraphs: vec![add(1), add(1)],
    };
    let model = Model::from_bytes(&raw.build()).expect("loads");
    let g = model.graph();
    assert_eq!(g.subgraphs.len(), 2);
    for sg in &g.subgraphs {
        assert_eq!(sg.tensors[1].data.as_deref(), Some(&f32_bytes(&c)[..]));
        assert!(!sg.tensors[0].is_constant() && !sg.tensors[2].is_constant());
    }
    let out = run(&model, vec![input()]);
    assert_eq!(f32s(&out[0]), vec![-0.5, 1.0, -1.5, 4.0]);
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![
        crate::case!(plain, zero_element_constants_are_constants),
        crate::case!(plain, zero_element_float_constant_in_a_concatenation),
        crate::case!(plain, only_unwritten_zero_element_tensors_become_constants),
        crate::case!(plain, optional_inputs_as_minus_one),
        crate::case!(plain, buffer_zero_with_data_is_not_a_constant),
        crate::case!(plain, empty_shape_signature_is_the_static_shape),
        crate::case!(plain, operator_codes_from_either_field),
        crate::case!(plain, subgraphs_share_a_buffer),
    ]
}
