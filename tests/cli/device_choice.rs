//! Which device runs and why: `auto` takes a hardware adapter only (a software
//! one such as lavapipe is a CPU rasterizer, slower than the CPU interpreter) and
//! says so in one line; `gpu` takes any adapter; `inspect` and `bench` report the
//! device and the reason. And the plan `inspect` shows for an adapter profile.

use crate::common;

use std::process::Command;
use tflite_wgpu::{
    gpu_adapter, is_software_adapter, AdapterProfile, Device, Interpreter, Model, Options,
};

fn demo() -> Model {
    Model::from_bytes(&tflite_wgpu::demo::demo_model_bytes().unwrap()).unwrap()
}

/// Whether the adapter the tests run on is a software one; None without one.
fn software() -> Option<bool> {
    if !common::gpu::gpu_available() {
        return None;
    }
    let info = gpu_adapter(Default::default()).unwrap();
    Some(is_software_adapter(&info.device_type))
}

fn cli(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tflite-wgpu"))
        .args(args)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .expect("the CLI starts")
}

fn json(o: &std::process::Output) -> serde_json::Value {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("JSON on stdout")
}

fn auto_skips_a_software_adapter_and_gpu_takes_it() {
    let Some(software) = software() else { return };
    let auto = Interpreter::with_options(
        &demo(),
        Options {
            device: Device::Auto,
            ..Default::default()
        },
    )
    .unwrap();
    let choice = auto.device_choice();
    assert_eq!(choice.requested, Device::Auto);
    if software {
        assert_eq!(choice.device, Device::Cpu, "{choice:?}");
        assert!(auto.delegate_report().is_none());
        assert!(choice.reason.contains("software adapter"), "{choice:?}");
    } else {
        assert_eq!(choice.device, Device::Gpu, "{choice:?}");
        assert!(auto.delegate_report().is_some());
    }
    let gpu = Interpreter::with_options(
        &demo(),
        Options {
            device: Device::Gpu,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(gpu.device_choice().device, Device::Gpu);
    assert!(gpu.delegate_report().is_some());
    assert_eq!(
        gpu.device_choice().reason.contains("software adapter"),
        software
    );
}

fn the_command_line_says_which_device_ran_and_why() {
    let Some(software) = software() else { return };
    let out = std::env::temp_dir().join(format!("tflite-wgpu-choice-{}", std::process::id()));
    let run = cli(&["run", "--out-dir", out.to_str().unwrap()]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let _ = std::fs::remove_dir_all(&out);
    let stderr = String::from_utf8_lossy(&run.stderr);
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("software adapter"))
        .collect();
    assert_eq!(lines.len(), usize::from(software), "{stderr}");

    let auto = json(&cli(&["inspect", "--json"]));
    let want = if software { "cpu" } else { "gpu" };
    assert_eq!(
        auto["device_choice"]["device"], want,
        "{}",
        auto["device_choice"]
    );
    assert!(auto["device_choice"]["reason"]
        .as_str()
        .is_some_and(|r| r.starts_with("auto")));
    let gpu = json(&cli(&["inspect", "--json", "--device", "gpu"]));
    assert_eq!(gpu["device_choice"]["device"], "gpu");

    let bench = |device: &str| {
        json(&cli(&[
            "bench", "--json", "--runs", "1", "--warmup", "0", "--device", device,
        ]))
    };
    let b = bench("auto");
    assert_eq!(b["config"]["device"], want);
    assert!(b["config"]["device_reason"]
        .as_str()
        .is_some_and(|r| !r.is_empty()));
    assert_eq!(b["adapter"].is_null(), software);
    let b = bench("gpu");
    assert_eq!(b["config"]["device"], "gpu");
    assert!(!b["adapter"].is_null());
    let text = cli(&["bench", "--runs", "1", "--warmup", "0"]);
    assert!(text.status.success());
    assert!(
        String::from_utf8_lossy(&text.stdout).contains(&format!("device: {want} (auto")),
        "{}",
        String::from_utf8_lossy(&text.stdout)
    );
}

fn inspect_shows_the_plan_for_a_bundled_profile() {
    if software().is_none() {
        return;
    }
    let doc = json(&cli(&[
        "inspect",
        "--json",
        "--adapter-profile",
        "nvidia-h100",
    ]));
    let plan = &doc["plan"];
    assert_eq!(plan["adapter_profile"]["name"], "nvidia-h100");
    assert_eq!(plan["adapter_profile"]["compute_units"], 132);
    let dispatches = plan["dispatches"].as_array().unwrap();
    assert!(!dispatches.is_empty());
    for d in dispatches {
        assert!(d["workgroups"].as_u64().unwrap() > 0, "{d}");
        assert!(d["workgroup_size"].as_u64().unwrap() > 0, "{d}");
        assert!(!d["kernel"].as_str().unwrap().is_empty(), "{d}");
        assert!(!d["nodes"].as_array().unwrap().is_empty(), "{d}");
        assert!(d["bytes"].as_f64().unwrap() > 0.0, "{d}");
    }
    assert!(dispatches
        .iter()
        .any(|d| d["flops"].as_f64().unwrap() > 0.0));
    // The adapter's own profile is shown when none is given.
    let own = json(&cli(&["inspect", "--json", "--device", "gpu"]));
    assert!(
        own["plan"]["adapter_profile"]["compute_units"]
            .as_u64()
            .unwrap()
            > 0
    );
    let text = cli(&["inspect", "--adapter-profile", "apple-m2"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("adapter profile: apple-m2"), "{text}");
    assert!(text.contains("madd/inv"), "{text}");
    // An unknown profile is an error naming the bundled ones.
    let bad = cli(&["inspect", "--adapter-profile", "no-such-gpu"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("nvidia-h200"));
}

fn every_bundled_profile_plans_within_its_limits() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    if software().is_none() {
        return;
    }
    let model =
        Model::from_file(shared.join("models/gen/mobilenet_v2_035_128_fp32.tflite")).unwrap();
    for name in AdapterProfile::bundled_names() {
        let profile = AdapterProfile::bundled(name).unwrap();
        let interp = Interpreter::for_inspection(
            &model,
            Options {
                device: Device::Gpu,
                adapter_profile: Some(profile.clone()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(interp.adapter_profile().as_ref(), Some(&profile));
        let plan = interp.dispatch_plan();
        assert_eq!(
            plan.len(),
            interp.delegate_report().unwrap().dispatches,
            "{name}"
        );
        for d in &plan {
            assert!(
                d.workgroup_size <= profile.max_invocations_per_workgroup,
                "{name}: {d:?}"
            );
            assert!(d.workgroups <= 65_535 * 65_535, "{name}: {d:?}");
        }
    }
}

/// `inspect --dump-wgsl DIR` writes one finished kernel per dispatch of the plan:
/// the prologue (f16 and the overflow guard at fp16), the body and the override
/// constants, each a module naga accepts, named after its kernel.
fn inspect_dumps_the_finished_wgsl_of_every_dispatch() {
    if software().is_none() {
        return;
    }
    for precision in ["fp32", "fp16"] {
        let dir = std::env::temp_dir().join(format!(
            "tflite-wgpu-dump-{precision}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let doc = json(&cli(&[
            "inspect",
            "--json",
            "--device",
            "gpu",
            "--precision",
            precision,
            "--dump-wgsl",
            dir.to_str().unwrap(),
        ]));
        let dispatches = doc["plan"]["dispatches"].as_array().unwrap();
        assert!(!dispatches.is_empty(), "the demo model runs on the GPU");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        assert_eq!(files.len(), dispatches.len(), "{files:?}");
        for (path, d) in files.iter().zip(dispatches) {
            let text = std::fs::read_to_string(path).unwrap();
            let kernel = d["kernel"].as_str().unwrap();
            let shader = kernel.split('[').next().unwrap();
            assert!(
                path.to_str().unwrap().ends_with(&format!("_{shader}.wgsl")),
                "{path:?} {kernel}"
            );
            assert!(
                text.starts_with(&format!("// kernel {kernel}\n")),
                "{path:?}"
            );
            assert_eq!(
                text.contains("enable f16;"),
                precision == "fp16",
                "{path:?}"
            );
            if let Err(e) = naga::front::wgsl::parse_str(&text) {
                panic!("{path:?} does not parse: {}", e.emit_to_string(&text));
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// The tests of this module, registered with the harness in `main.rs`.
pub(crate) fn tests() -> Vec<crate::common::harness::Case> {
    vec![
        crate::case!(gpu, auto_skips_a_software_adapter_and_gpu_takes_it),
        crate::case!(gpu, the_command_line_says_which_device_ran_and_why),
        crate::case!(gpu, inspect_shows_the_plan_for_a_bundled_profile),
        crate::case!(gpu, inspect_dumps_the_finished_wgsl_of_every_dispatch),
        crate::case!(gpu_shared, every_bundled_profile_plans_within_its_limits),
    ]
}
