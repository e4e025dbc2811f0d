//! Kernels planned for GPU adapter profiles. Under `nvidia-h100` and
//! `nvidia-h200` at fp16, every dispatch of MobileNetV2-1.0-224 and BlazeFace
//! doing at least 4 MFLOP launches a workgroup per SM, and no invocation is
//! asked for more than 2,048 multiply-adds. Under every bundled profile the
//! plan keeps within the profile's workgroup limits (invocations, and the
//! workgroup memory of each kernel as naga reflects it). And the plan of a GPU
//! profile is correct: forced onto the adapter in hand (lavapipe in CI), it
//! matches the CPU interpreter on both models and on convolutions that take
//! its split-K, scalar-load, residual and unfused depthwise + 1x1 paths.

use crate::common;
use crate::fusion::{input, G};

use common::gpu::{checked, gpu_available, seeded_inputs};
use tflite_wgpu::graph::op::{Activation, Binary, Conv2D, Padding};
use tflite_wgpu::graph::{Graph, Op};
use tflite_wgpu::{AdapterProfile, Device, Interpreter, Model, Options, PlannedDispatch};

/// The models of the acceptance: MobileNetV2-1.0-224 and BlazeFace.
const MODELS: [&str; 2] = [
    "gen/mobilenet_v2_100_224_fp32.tflite",
    "real/face_detection_short_range.tflite",
];

/// A dispatch doing at least this many operations must fill the GPU.
const HEAVY_FLOPS: f64 = 4e6;
/// Most multiply-adds one invocation may be asked for.
const MAX_MADDS: f64 = 2048.0;

fn profile(name: &str) -> AdapterProfile {
    AdapterProfile::bundled(name).unwrap_or_else(|| panic!("{name} is bundled"))
}

/// The interpreter of `model` with its GPU kernels planned for `profile`.
fn planned(model: &Model, profile: &AdapterProfile, fp16: bool) -> Interpreter {
    let interp = Interpreter::for_inspection(
        model,
        Options {
            device: Device::Gpu,
            precision_loss_allowed: fp16,
            adapter_profile: Some(profile.clone()),
            ..Default::default()
        },
    )
    .expect("the model plans");
    let r = interp.delegate_report().expect("a GPU report");
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    assert!(r.plan.fallback.is_empty(), "{:?}", r.plan.fallback);
    interp
}

/// Bytes of workgroup memory the module `source` declares (naga's layout).
fn workgroup_storage(name: &str, source: &str) -> u32 {
    let module = naga::front::wgsl::parse_str(source)
        .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(source)));
    let mut layouter = naga::proc::Layouter::default();
    layouter.update(module.to_ctx()).expect("types lay out");
    module
        .global_variables
        .iter()
        .filter(|(_, v)| v.space == naga::AddressSpace::WorkGroup)
        .map(|(_, v)| layouter[v.ty].size)
        .sum()
}

/// Dispatches, heavy dispatches, heavy dispatches below `fill` workgroups and
/// the most multiply-adds per invocation of a plan.
fn summary(plan: &[PlannedDispatch], fill: u64) -> (usize, usize, usize, f64) {
    let heavy: Vec<_> = plan.iter().filter(|d| d.flops >= HEAVY_FLOPS).collect();
    let short = heavy.iter().filter(|d| d.workgroups < fill).count();
    let most = plan
        .iter()
        .map(PlannedDispatch::madds_per_invocation)
        .fold(0.0, f64::max);
    (plan.len(), heavy.len(), short, most)
}

/// Every heavy dispatch launches a workgroup per compute unit and no
/// invocation does more than [`MAX_MADDS`], at fp16 on both models.
fn fills_the_gpu(name: &str) {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    if !gpu_available() {
        return;
    }
    let p = profile(name);
    let fill = u64::from(p.compute_units);
    for file in MODELS {
        let model = Model::from_file(shared.join("models").join(file)).unwrap();
        let interp = planned(&model, &p, true);
        let plan = interp.dispatch_plan();
        let (n, heavy, short, most) = summary(&plan, fill);
        println!(
            "{name} fp16 {file}: {n} dispatches, {short} of {heavy} heavy below {fill} workgroups, \
             at most {most:.0} multiply-adds per invocation"
        );
        for d in &plan {
            let macs = d.madds_per_invocation();
            assert!(
                macs <= MAX_MADDS,
                "{name} {file}: {macs:.0} per invocation: {d:?}"
            );
            if d.flops >= HEAVY_FLOPS {
                assert!(d.workgroups >= fill, "{name} {file}: {d:?}");
            }
        }
    }
}

fn nvidia_h100_plans_fill_the_gpu() {
    fills_the_gpu("nvidia-h100");
}

fn nvidia_h200_plans_fill_the_gpu() {
    fills_the_gpu("nvidia-h200");
}

/// Under `profile`, at both precisions and on both models, every dispatch's
/// workgroup is within the profile's invocations and its kernel's workgroup
/// memory within the profile's storage.
fn plans_within_limits(p: &AdapterProfile) {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    if !gpu_available() {
        return;
    }
    for file in MODELS {
        let model = Model::from_file(shared.join("models").join(file)).unwrap();
        for fp16 in [false, true] {
            let interp = planned(&model, p, fp16);
            let plan = interp.dispatch_plan();
            let sources = interp.dispatch_sources();
            assert_eq!(plan.len(), sources.len());
            let mut most = 0;
            for (d, (kernel, source)) in plan.iter().zip(&sources) {
                assert!(
                    d.workgroup_size <= p.max_invocations_per_workgroup,
                    "{} {file}: {d:?}",
                    p.name
                );
                let bytes = workgroup_storage(kernel, source);
                most = most.max(bytes);
                assert!(
                    bytes <= p.workgroup_storage_bytes,
                    "{} {file}: {kernel} takes {bytes} bytes of workgroup memory",
                    p.name
                );
            }
            // The tiled convolutions stage K through workgroup memory.
            assert!(
                most > 0,
                "{} {file}: no kernel uses workgroup memory",
                p.name
            );
        }
    }
}

fn apple_m2_plans_within_its_limits() {
    plans_within_limits(&profile("apple-m2"));
}

fn intel_xe_plans_within_its_limits() {
    plans_within_limits(&profile("intel-xe"));
}

fn amd_rdna3_plans_within_its_limits() {
    plans_within_limits(&profile("amd-rdna3"));
}

fn adreno_740_plans_within_its_limits() {
    plans_within_limits(&profile("adreno-740"));
}

fn mali_g715_plans_within_its_limits() {
    plans_within_limits(&profile("mali-g715"));
}

/// A profile file of a small GPU (128 invocations and 16 KiB per workgroup,
/// WebGPU's minimum storage) gets a plan it can run.
fn a_small_profile_plans_within_its_limits() {
    let mut p = profile("mali-g715");
    p.name = "small".into();
    p.max_invocations_per_workgroup = 128;
    p.workgroup_storage_bytes = 16384;
    plans_within_limits(&p);
}

/// The plan of `nvidia-h100`, run on the adapter in hand, against the CPU
/// interpreter at fp32 and fp16 on both models' golden inputs (the goldens'
/// tolerance rules, the CPU output as the reference), and on an int8
/// MobileNetV2, whose integer convolutions take the same tiles (split K sums
/// integers, so within one step).
fn h100_plan_matches_the_cpu_on_the_models() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    if !gpu_available() {
        return;
    }
    let p = profile("nvidia-h100");
    for name in [
        "mobilenet_v2_100_224_fp32",
        "face_detection_short_range",
        "mobilenet_v2_035_128_int8",
    ] {
        let case = common::golden(&shared, name);
        let model = Model::from_file(&case.model).unwrap();
        let mut cpu = Interpreter::new(&model).unwrap();
        for (i, t) in case.inputs.iter().enumerate() {
            cpu.set_input(i, t.clone()).unwrap();
        }
        cpu.invoke().unwrap();
        for fp16 in [false, true] {
            let mut gpu = Interpreter::with_options(
                &model,
                Options {
                    adapter_profile: Some(p.clone()),
                    ..common::gpu::gpu_options(fp16)
                },
            )
            .unwrap();
            let r = gpu.delegate_report().unwrap();
            assert!(r.failed.is_empty() && r.plan.fallback.is_empty(), "{name}");
            let kernels: Vec<String> = gpu.dispatch_plan().into_iter().map(|d| d.kernel).collect();
            if name.starts_with("mobilenet_v2_100") {
                // The 7x7 layers split K; wide depthwise + 1x1 pairs run apart.
                assert!(kernels.iter().any(|k| k.contains("SK=")), "{kernels:?}");
                assert!(
                    kernels.iter().any(|k| k.starts_with("depthwise")),
                    "{kernels:?}"
                );
            }
            for (i, t) in case.inputs.iter().enumerate() {
                gpu.set_input(i, t.clone()).unwrap();
            }
            gpu.invoke().unwrap();
            let precision = if fp16 {
                common::Precision::Fp16
            } else {
                common::Precision::Fp32
            };
            for (i, stats) in case.stats.iter().enumerate() {
                let got = gpu.output(i).unwrap();
                let want = cpu.output(i).unwrap();
                if let Err(e) = common::judge(got, want, *stats, precision) {
                    panic!("{name} fp16={fp16} output {i}: {e}");
                }
            }
        }
    }
}

/// CONV_2D with seeded weights: `groups` groups, `k` x `k` filter at `stride`.
fn conv(g: &mut G, x: usize, oc: usize, k: usize, stride: usize, groups: usize) -> usize {
    let [n, h, w, ic] = g.shape(x)[..] else {
        panic!("4-D input")
    };
    let wt = g.random(vec![oc, k, k, ic / groups]);
    let b = g.random(vec![oc]);
    let op = Op::Conv2D(Conv2D {
        padding: Padding::Same,
        stride_w: stride,
        stride_h: stride,
        dilation_w: 1,
        dilation_h: 1,
        activation: Activation::Relu6,
    });
    g.node(
        op,
        &[x, wt, b],
        vec![n, h.div_ceil(stride), w.div_ceil(stride), oc],
    )
}

fn check(name: &str, graph: Graph) {
    let inputs = seeded_inputs(&graph);
    common::gpu::check_gpu_matches_cpu_planned(
        name,
        graph,
        inputs,
        checked(),
        Some(profile("nvidia-h100")),
    );
}

/// Convolutions on the `nvidia-h100` plan against the CPU: long K over few
/// pixels (split K, 1x1 and 3x3), channel counts that are not multiples of 4
/// (scalar loads, partial quads), grouped, strided, and a residual ADD in the
/// epilogue.
fn h100_plan_matches_the_cpu_on_convolutions() {
    if !gpu_available() {
        return;
    }
    // (input [n, h, w, c], output channels, filter size, stride, groups).
    let cases: [([usize; 4], usize, usize, usize, usize); 8] = [
        ([1, 7, 7, 960], 160, 1, 1, 1),
        ([1, 4, 4, 200], 48, 3, 1, 1),
        ([1, 3, 5, 13], 7, 3, 2, 1),
        ([2, 9, 6, 24], 44, 1, 1, 1),
        ([1, 30, 30, 3], 24, 5, 2, 1),
        ([1, 6, 6, 16], 12, 3, 1, 4),
        ([1, 2, 2, 1500], 10, 1, 1, 1),
        ([1, 56, 56, 24], 144, 1, 1, 1),
    ];
    for (shape, oc, k, stride, groups) in cases {
        let mut g = G::default();
        let x = g.input(shape.to_vec());
        let y = conv(&mut g, x, oc, k, stride, groups);
        check(
            &format!("conv {shape:?} -> {oc} k{k} s{stride} g{groups}"),
            g.graph(vec![y]),
        );
    }
    // A residual ADD in the epilogue of a split-K 1x1 convolution, and after
    // a 3x3 one on 13 channels.
    for (shape, k) in [([1, 7, 7, 576], 1), ([1, 5, 5, 13], 3)] {
        let mut g = G::default();
        let x = g.input(shape.to_vec());
        let s = g.input(vec![1, shape[1], shape[2], 20]);
        let y = conv(&mut g, x, 20, k, 1, 1);
        let z = g.binary(Binary::Add, Activation::None, y, s);
        check(&format!("conv {shape:?} k{k} + residual"), g.graph(vec![z]));
    }
}

/// Depthwise + 1x1 pairs with a residual ADD on the `nvidia-h100` plan: a
/// thin pair (24 and 13 channels) runs fused in one dispatch, a wide one (96
/// and 45 channels) as the depthwise kernel and the tiled 1x1 convolution with the
/// ADD in its epilogue; all match the CPU, and the adapter's own plan fuses all.
fn h100_plan_splits_wide_depthwise_pointwise_pairs() {
    if !gpu_available() {
        return;
    }
    for (c, hw, fused) in [
        (24, 20, true),
        (13, 9, true),
        (96, 7, false),
        (45, 9, false),
    ] {
        let mut g = G::default();
        let x = g.input(vec![1, hw, hw, c]);
        let d = g.depthwise(x, 1, Padding::Same);
        let pw = g.conv(d, c, 1, 1, Padding::Valid);
        let y = g.binary(Binary::Add, Activation::None, pw, x);
        let graph = g.graph(vec![y]);
        let model = Model::from_graph(graph.clone());
        let dispatches = |p: Option<AdapterProfile>| {
            let interp = Interpreter::for_inspection(
                &model,
                Options {
                    adapter_profile: p,
                    ..common::gpu::gpu_options(false)
                },
            )
            .unwrap();
            interp.delegate_report().unwrap().dispatches
        };
        assert_eq!(dispatches(None), 1, "{c} channels on the adapter's plan");
        let expected = if fused { 1 } else { 2 };
        assert_eq!(
            dispatches(Some(profile("nvidia-h100"))),
            expected,
            "{c} channels on the nvidia-h100 plan"
        );
        let name = format!("depthwise + 1x1 + residual, {c} channels");
        common::gpu::check_gpu_matches_cpu_planned(
            &name,
            graph,
            vec![input(vec![1, hw, hw, c], 3)],
            checked(),
            Some(profile("nvidia-h100")),
        );
    }
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![
        crate::case!(gpu_shared, nvidia_h100_plans_fill_the_gpu),
        crate::case!(gpu_shared, nvidia_h200_plans_fill_the_gpu),
        crate::case!(gpu_shared, apple_m2_plans_within_its_limits),
        crate::case!(gpu_shared, intel_xe_plans_within_its_limits),
        crate::case!(gpu_shared, amd_rdna3_plans_within_its_limits),
        crate::case!(gpu_shared, adreno_740_plans_within_its_limits),
        crate::case!(gpu_shared, mali_g715_plans_within_its_limits),
        crate::case!(gpu_shared, a_small_profile_plans_within_its_limits),
        crate::case!(gpu_shared, h100_plan_matches_the_cpu_on_the_models),
        crate::case!(gpu, h100_plan_matches_the_cpu_on_convolutions),
        crate::case!(gpu, h100_plan_splits_wide_depthwise_pointwise_pairs),
    ]
}
