//! Malformed, truncated and hostile models: each gives its typed error, never a panic.

use flatbuffers::{FlatBufferBuilder, WIPOffset};
use tflite_wgpu::model::{self, LoadOptions};
use tflite_wgpu::{Error, Interpreter, Model};

/// A hand-built one-op model whose every field a test can spoil.
struct Spec {
    /// (shape, type code, buffer index) per tensor.
    tensors: Vec<(Vec<i32>, i8, u32)>,
    /// Buffer contents (buffer 0 is always the empty one).
    buffers: Vec<Vec<u8>>,
    /// (opcode index, inputs, outputs) per operator.
    operators: Vec<(u32, Vec<i32>, Vec<i32>)>,
    /// Builtin codes (or custom names) of the operator codes.
    opcodes: Vec<(i32, Option<&'static str>)>,
    inputs: Vec<i32>,
    outputs: Vec<i32>,
}

fn slot(id: usize) -> u16 {
    (4 + 2 * id) as u16
}

impl Spec {
    /// ABS on a float [2, 2] input.
    fn abs() -> Spec {
        Spec {
            tensors: vec![(vec![2, 2], 0, 0), (vec![2, 2], 0, 0)],
            buffers: vec![vec![]],
            operators: vec![(0, vec![0], vec![1])],
            opcodes: vec![(101, None)],
            inputs: vec![0],
            outputs: vec![1],
        }
    }

    fn build(&self) -> Vec<u8> {
        let mut fbb = FlatBufferBuilder::new();
        let tensors: Vec<WIPOffset<_>> = self
            .tensors
            .iter()
            .enumerate()
            .map(|(i, (shape, ty, buf))| {
                let shape = fbb.create_vector(shape);
                let name = fbb.create_string(&format!("t{i}"));
                let s = fbb.start_table();
                fbb.push_slot_always(slot(0), shape);
                fbb.push_slot_always::<i8>(slot(1), *ty);
                fbb.push_slot_always::<u32>(slot(2), *buf);
                fbb.push_slot_always(slot(3), name);
                fbb.end_table(s)
            })
            .collect();
        let ops: Vec<WIPOffset<_>> = self
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
        let ins = fbb.create_vector(&self.inputs);
        let outs = fbb.create_vector(&self.outputs);
        let s = fbb.start_table();
        fbb.push_slot_always(slot(0), tensors);
        fbb.push_slot_always(slot(1), ins);
        fbb.push_slot_always(slot(2), outs);
        fbb.push_slot_always(slot(3), ops);
        let sg = fbb.end_table(s);
        let buffers: Vec<WIPOffset<_>> = self
            .buffers
            .iter()
            .map(|b| {
                let data = (!b.is_empty()).then(|| fbb.create_vector(b));
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
            .map(|(code, custom)| {
                let custom = custom.map(|c| fbb.create_string(c));
                let s = fbb.start_table();
                fbb.push_slot_always::<i8>(slot(0), (*code).min(127) as i8);
                if let Some(c) = custom {
                    fbb.push_slot_always(slot(1), c);
                }
                fbb.push_slot_always::<i32>(slot(3), *code);
                fbb.end_table(s)
            })
            .collect();
        let sgs = fbb.create_vector(&[sg]);
        let buffers = fbb.create_vector(&buffers);
        let opcodes = fbb.create_vector(&opcodes);
        let s = fbb.start_table();
        fbb.push_slot_always::<u32>(slot(0), 3);
        fbb.push_slot_always(slot(1), opcodes);
        fbb.push_slot_always(slot(2), sgs);
        fbb.push_slot_always(slot(4), buffers);
        let root = fbb.end_table(s);
        fbb.finish(root, Some("TFL3"));
        fbb.finished_data().to_vec()
    }

    fn load(&self) -> Result<Model, Error> {
        Model::from_bytes(&self.build())
    }
}

fn the_unspoiled_spec_loads_and_runs() {
    let m = Spec::abs().load().expect("valid model");
    let mut i = Interpreter::new(&m).expect("prepare");
    i.set_input(
        0,
        tflite_wgpu::Tensor::f32(vec![2, 2], vec![-1.0, 2.0, -3.0, 4.0]),
    )
    .unwrap();
    i.invoke().expect("invoke");
    assert_eq!(
        i.output(0).unwrap().as_f32().unwrap(),
        &[1.0, 2.0, 3.0, 4.0]
    );
}

fn truncated_files_are_malformed() {
    let bytes = tflite_wgpu::demo::demo_model_bytes().unwrap();
    for len in (0..bytes.len()).step_by(7) {
        match Model::from_bytes(&bytes[..len]) {
            Err(Error::Malformed { .. }) | Err(Error::IndexOutOfRange { .. }) => {}
            Err(Error::Tensor { .. }) | Err(Error::Graph { .. }) | Err(Error::Node { .. }) => {}
            Err(e) => panic!("truncated to {len}: unexpected error kind {e}"),
            Ok(_) => panic!("truncated to {len} bytes still loaded"),
        }
    }
}

fn wrong_identifier_is_malformed() {
    let mut bytes = Spec::abs().build();
    bytes[4..8].copy_from_slice(b"XXXX");
    assert!(matches!(
        Model::from_bytes(&bytes),
        Err(Error::Malformed { .. })
    ));
}

fn bad_vtable_offset_is_malformed() {
    let mut bytes = Spec::abs().build();
    let root = u32::from_le_bytes(bytes[0..4].try_into().unwrap()) as usize;
    bytes[root..root + 4].copy_from_slice(&(-100_000i32).to_le_bytes());
    let e = Model::from_bytes(&bytes).unwrap_err();
    assert!(matches!(e, Error::Malformed { .. }), "{e}");
    assert!(e.to_string().contains("vtable"), "{e}");
}

fn root_offset_past_the_end_is_malformed() {
    let mut bytes = Spec::abs().build();
    bytes[0..4].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        Model::from_bytes(&bytes),
        Err(Error::Malformed { .. })
    ));
}

fn out_of_range_tensor_index() {
    let mut s = Spec::abs();
    s.operators[0].1 = vec![7];
    let e = s.load().unwrap_err();
    assert!(
        matches!(
            e,
            Error::IndexOutOfRange {
                kind: "tensor",
                index: 7,
                len: 2,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("operator 0"), "{e}");
}

fn out_of_range_graph_input() {
    let mut s = Spec::abs();
    s.inputs = vec![-3];
    let e = s.load().unwrap_err();
    assert!(
        matches!(
            e,
            Error::IndexOutOfRange {
                kind: "tensor",
                index: -3,
                ..
            }
        ),
        "{e}"
    );
}

fn out_of_range_buffer_index() {
    let mut s = Spec::abs();
    s.tensors[0].2 = 9;
    let e = s.load().unwrap_err();
    assert!(
        matches!(
            e,
            Error::IndexOutOfRange {
                kind: "buffer",
                index: 9,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("tensor 0"), "{e}");
}

fn out_of_range_opcode_index() {
    let mut s = Spec::abs();
    s.operators[0].0 = 4;
    let e = s.load().unwrap_err();
    assert!(
        matches!(
            e,
            Error::IndexOutOfRange {
                kind: "opcode",
                index: 4,
                len: 1,
                ..
            }
        ),
        "{e}"
    );
}

fn absurd_shapes_hit_the_memory_limit() {
    let mut s = Spec::abs();
    s.tensors[1].0 = vec![1 << 30, 1 << 30, 1 << 30];
    let e = s.load().unwrap_err();
    assert!(
        matches!(e, Error::MemoryLimit { .. } | Error::Tensor { .. }),
        "{e}"
    );
    let mut s = Spec::abs();
    s.tensors[1].0 = vec![-5, 2];
    assert!(matches!(
        s.load().unwrap_err(),
        Error::Tensor { index: 1, .. }
    ));
    let mut s = Spec::abs();
    s.tensors[0].0 = vec![1024, 1024, 64];
    let small = LoadOptions {
        max_tensor_bytes: 1 << 20,
        ..Default::default()
    };
    let e = Model::from_bytes_with(&s.build(), &small).unwrap_err();
    assert!(
        matches!(e, Error::MemoryLimit { limit: 1048576, .. }),
        "{e}"
    );
}

fn buffer_size_that_disagrees_with_the_shape() {
    let mut s = Spec::abs();
    s.buffers.push(vec![0; 12]);
    s.tensors.push((vec![4], 0, 1));
    let e = s.load().unwrap_err();
    assert!(matches!(e, Error::Tensor { index: 2, .. }), "{e}");
    assert!(e.to_string().contains("12 bytes"), "{e}");
}

fn unknown_type_code() {
    let mut s = Spec::abs();
    s.tensors[0].1 = 99;
    assert!(matches!(
        s.load().unwrap_err(),
        Error::Tensor { index: 0, .. }
    ));
}

fn unknown_ops_are_named() {
    let mut s = Spec::abs();
    s.opcodes = vec![(250, None)];
    let m = s.load().expect("an unknown op still loads for inspection");
    match Interpreter::new(&m) {
        Err(Error::UnsupportedOp { node: 0, op }) => assert_eq!(op, "BUILTIN_250"),
        Err(e) => panic!("wrong error {e}"),
        Ok(_) => panic!("unknown op accepted"),
    }
    let mut s = Spec::abs();
    s.opcodes = vec![(32, Some("MyCustomOp"))];
    let m = s.load().unwrap();
    match Interpreter::new(&m) {
        Err(Error::UnsupportedOp { op, .. }) => assert_eq!(op, "MyCustomOp"),
        _ => panic!("custom op accepted"),
    }
}

fn cycles_are_graph_errors() {
    let mut s = Spec::abs();
    s.tensors.push((vec![2, 2], 0, 0));
    s.operators = vec![(0, vec![2], vec![1]), (0, vec![1], vec![2])];
    let e = s.load().unwrap_err();
    assert!(matches!(e, Error::Graph { subgraph: 0, .. }), "{e}");
    assert!(e.to_string().contains("cycle"), "{e}");
}

fn reading_an_unwritten_tensor_is_a_graph_error() {
    let mut s = Spec::abs();
    s.tensors.push((vec![2, 2], 0, 0));
    s.operators[0].1 = vec![2];
    let e = s.load().unwrap_err();
    assert!(e.to_string().contains("nothing writes"), "{e}");
}

fn two_writers_of_one_tensor() {
    let mut s = Spec::abs();
    s.operators.push((0, vec![0], vec![1]));
    let e = s.load().unwrap_err();
    assert!(e.to_string().contains("written by both"), "{e}");
}

fn every_single_byte_corruption_is_handled() {
    let bytes = Spec::abs().build();
    for i in 0..bytes.len() {
        for v in [0u8, 0xff, 0x7f, 0x80] {
            let mut b = bytes.clone();
            b[i] = v;
            if let Ok(m) = Model::from_bytes(&b) {
                if let Ok(mut interp) = Interpreter::new(&m) {
                    for k in 0..interp.num_inputs() {
                        let info = interp.input_info(k).unwrap().clone();
                        if let Ok(t) = tflite_wgpu::Tensor::zeros(info.dtype, info.shape.clone()) {
                            let _ = interp.set_input(k, t);
                        }
                    }
                    let _ = interp.invoke();
                }
            }
        }
    }
}

fn model_reader_round_trips_the_writer() {
    let g = tflite_wgpu::demo::demo_graph();
    let bytes = model::write(&g).unwrap();
    let back = model::read(&bytes, &LoadOptions::default()).unwrap();
    assert_eq!(back.subgraphs[0].nodes, g.subgraphs[0].nodes);
    assert_eq!(back.subgraphs[0].tensors, g.subgraphs[0].tensors);
    assert_eq!(back.subgraphs[0].inputs, g.subgraphs[0].inputs);
    assert_eq!(back.subgraphs[0].outputs, g.subgraphs[0].outputs);
}

fn a_graph_without_subgraphs_is_an_error() {
    let m = Model::from_graph(Default::default());
    assert!(matches!(Interpreter::new(&m), Err(Error::Graph { .. })));
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![
        crate::case!(plain, the_unspoiled_spec_loads_and_runs),
        crate::case!(plain, truncated_files_are_malformed),
        crate::case!(plain, wrong_identifier_is_malformed),
        crate::case!(plain, bad_vtable_offset_is_malformed),
        crate::case!(plain, root_offset_past_the_end_is_malformed),
        crate::case!(plain, out_of_range_tensor_index),
        crate::case!(plain, out_of_range_graph_input),
        crate::case!(plain, out_of_range_buffer_index),
        crate::case!(plain, out_of_range_opcode_index),
        crate::case!(plain, absurd_shapes_hit_the_memory_limit),
        crate::case!(plain, buffer_size_that_disagrees_with_the_shape),
        crate::case!(plain, unknown_type_code),
        crate::case!(plain, unknown_ops_are_named),
        crate::case!(plain, cycles_are_graph_errors),
        crate::case!(plain, reading_an_unwritten_tensor_is_a_graph_error),
        crate::case!(plain, two_writers_of_one_tensor),
        crate::case!(plain, every_single_byte_corruption_is_handled),
        crate::case!(plain, model_reader_round_trips_the_writer),
        crate::case!(plain, a_graph_without_subgraphs_is_an_error),
    ]
}
