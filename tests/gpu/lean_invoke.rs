//! The invoke path: inputs that change between invokes reach the GPU through the
//! persistent staging buffers, the command buffer recorded ahead (while the GPU
//! ran the previous invoke) gives the outputs of one recorded on the spot,
//! outputs copy into the caller's memory with `output_into`, and a wrong
//! destination is a typed error naming the output.

use crate::common;

use tflite_wgpu::{Device, Error, Interpreter, Model, Options, Tensor};

fn gpu_interpreter(model: &Model) -> Interpreter {
    let options = Options {
        device: Device::Gpu,
        ..Default::default()
    };
    Interpreter::with_options(model, options).unwrap()
}

/// Inputs of every model input from `seed`.
fn inputs(interp: &Interpreter, seed: u32) -> Vec<Tensor> {
    (0..interp.num_inputs())
        .map(|i| {
            let info = interp.input_info(i).unwrap();
            let n = info.shape.iter().product();
            Tensor::f32(info.shape.clone(), common::gpu::values(n, seed + i as u32))
        })
        .collect()
}

/// The outputs of one invoke on `inputs`, through `output_into`.
fn run(interp: &mut Interpreter, inputs: &[Tensor]) -> Vec<Vec<f32>> {
    for (i, t) in inputs.iter().enumerate() {
        interp.set_input(i, t.clone()).unwrap();
    }
    interp.invoke().unwrap();
    (0..interp.num_outputs())
        .map(|i| {
            let n = interp.output_info(i).unwrap().shape.iter().product();
            let mut out = vec![f32::NAN; n];
            interp.output_into(i, &mut out).unwrap();
            // Decoding into the caller's memory and decoding into a tensor agree.
            let tflite_wgpu::Data::F32(held) = &interp.output(i).unwrap().data else {
                panic!("output {i} is not float32");
            };
            assert_eq!(held, &out);
            out
        })
        .collect()
}

fn changing_inputs_reach_the_gpu_on_every_invoke() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    if !common::gpu::gpu_available() {
        return;
    }
    let model =
        Model::from_file(shared.join("models/real/face_detection_short_range.tflite")).unwrap();
    let mut interp = gpu_interpreter(&model);
    let (a, b) = (inputs(&interp, 3), inputs(&interp, 97));
    let first_a = run(&mut interp, &a);
    let then_b = run(&mut interp, &b);
    let again_a = run(&mut interp, &a);
    assert_eq!(first_a, again_a, "the same input gave other outputs");
    assert_ne!(first_a, then_b, "a new input was not uploaded");
    // A fresh interpreter on input b agrees bit for bit with the reused one.
    let fresh_b = run(&mut gpu_interpreter(&model), &b);
    assert_eq!(then_b, fresh_b);
    // And both are the CPU's outputs within fp32 GPU tolerance.
    let mut cpu = Interpreter::new(&model).unwrap();
    let cpu_b = run(&mut cpu, &b);
    for (g, c) in then_b.iter().zip(&cpu_b) {
        let worst = g
            .iter()
            .zip(c)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-3, "GPU differs from the CPU by {worst}");
    }
}

/// The outputs of the last invoke, decoded.
fn outputs(interp: &Interpreter) -> Vec<Vec<f32>> {
    (0..interp.num_outputs())
        .map(|i| {
            let n = interp.output_info(i).unwrap().shape.iter().product();
            let mut out = vec![f32::NAN; n];
            interp.output_into(i, &mut out).unwrap();
            out
        })
        .collect()
}

fn commands_recorded_ahead_match_commands_recorded_on_the_spot() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    if !common::gpu::gpu_available() {
        return;
    }
    let model =
        Model::from_file(shared.join("models/real/face_detection_short_range.tflite")).unwrap();
    let fp16 = || {
        let options = Options {
            device: Device::Gpu,
            precision_loss_allowed: true,
            ..Default::default()
        };
        Interpreter::with_options(&model, options).unwrap()
    };
    let mut interp = fp16();
    let (a, b) = (inputs(&interp, 11), inputs(&interp, 59));
    // The first invoke of a fresh interpreter records its commands on the spot.
    let fresh_a = run(&mut fp16(), &a);
    let fresh_b = run(&mut fp16(), &b);
    assert_ne!(fresh_a, fresh_b);
    // Plain and profiled invokes interleaved: each kind records the next one of
    // its kind ahead, and a change of kind records anew.
    let mut ahead = Vec::new();
    let mut last = Vec::new();
    for (k, profiled) in [false, false, true, true, true, false, false]
        .into_iter()
        .enumerate()
    {
        let (input, want) = if k % 2 == 0 {
            (&a, &fresh_a)
        } else {
            (&b, &fresh_b)
        };
        for (i, t) in input.iter().enumerate() {
            interp.set_input(i, t.clone()).unwrap();
        }
        if profiled {
            let p = interp.invoke_profiled().unwrap();
            assert_eq!(p.partitions.len(), 1, "BlazeFace is one partition");
            ahead.push(p.partitions[0].recorded_ahead);
        } else {
            interp.invoke().unwrap();
        }
        assert_eq!(&outputs(&interp), want, "invoke {k} (profiled: {profiled})");
        // Every invoke, plain or profiled, leaves its host times.
        let host = interp.last_host_times();
        assert_eq!(host.len(), 1, "invoke {k}: one partition's times");
        assert!(host[0].upload_ns > 0.0 && host[0].submit_ns > 0.0 && host[0].wait_ns > 0.0);
        assert_eq!(host[0].gpu_span_ns, None, "host times carry no GPU span");
        last.push(host[0].recorded_ahead);
    }
    assert_eq!(ahead, [false, true, true], "profiled runs recorded ahead");
    assert_eq!(
        last,
        [false, true, false, true, true, false, true],
        "every invoke's host times say whether it was recorded ahead"
    );
}

fn output_into_copies_and_refuses_wrong_destinations() {
    let model = Model::from_bytes(&tflite_wgpu::demo::demo_model_bytes().unwrap()).unwrap();
    let mut interp = Interpreter::new(&model).unwrap();
    let ins = inputs(&interp, 5);
    let outs = run(&mut interp, &ins);
    let expected = interp.output(0).unwrap().clone();
    let tflite_wgpu::Data::F32(values) = &expected.data else {
        panic!("the demo model's output is float32");
    };
    assert_eq!(&outs[0], values);
    let n = values.len();
    let mut short = vec![0f32; n - 1];
    match interp.output_into(0, &mut short) {
        Err(Error::Output { index: 0, what }) => assert!(what.contains("elements"), "{what}"),
        other => panic!("a short destination gave {other:?}"),
    }
    let mut ints = vec![0i32; n];
    match interp.output_into(0, &mut ints) {
        Err(Error::Output { index: 0, what }) => assert!(what.contains("int32"), "{what}"),
        other => panic!("an int32 destination gave {other:?}"),
    }
    let mut none = vec![0f32; n];
    assert!(matches!(
        interp.output_into(interp.num_outputs(), &mut none),
        Err(Error::Input { .. })
    ));
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![
        crate::case!(gpu_shared, changing_inputs_reach_the_gpu_on_every_invoke),
        crate::case!(
            gpu_shared,
            commands_recorded_ahead_match_commands_recorded_on_the_spot
        ),
        crate::case!(plain, output_into_copies_and_refuses_wrong_destinations),
    ]
}
