//! `bench`: init split, first invoke, steady-state latency, the delegate's counters,
//! GPU memory, time shares, a per-op GPU profile (`--profile`) and a comparison of
//! devices, precisions and backends (`--compare`).

mod compare;
mod measure;
mod report;
mod roofline;

use super::{load, options, BackendArg, ExecArgs};
use crate::cli::outln;
use crate::gpu::device::{Backend, DeviceOptions};
use crate::{Interpreter, Options};
use clap::ValueEnum;
use std::path::PathBuf;

/// The flags of `bench` besides the model and [`ExecArgs`].
#[derive(clap::Args, Clone)]
pub struct BenchArgs {
    /// Untimed invokes before measuring.
    #[arg(long, default_value_t = 3)]
    pub warmup: usize,
    /// Timed invokes (default 20).
    #[arg(long, conflicts_with = "min_secs")]
    pub runs: Option<usize>,
    /// Time invokes until this many seconds have passed instead of a fixed count.
    #[arg(long)]
    pub min_secs: Option<f64>,
    /// Profile: GPU time per dispatch from timestamp queries, by op type, and the CPU
    /// time of nodes run on the CPU.
    #[arg(long)]
    pub profile: bool,
    /// Compare cpu, gpu-fp32 and gpu-fp16 (on every backend with --backend all):
    /// median latency, speedup over the CPU, max error vs the CPU.
    #[arg(long)]
    pub compare: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Plan the GPU kernels for this adapter profile (a bundled name such as
    /// nvidia-h100, or a profile JSON file) and run that plan on the adapter in
    /// hand.
    #[arg(long, value_name = "NAME|FILE.json")]
    pub adapter_profile: Option<String>,
}

/// How long to time: a number of invokes or a number of seconds.
#[derive(Clone, Copy, Debug)]
pub enum Budget {
    /// This many invokes.
    Runs(usize),
    /// Invokes until this many seconds have passed (at least one).
    Secs(f64),
}

impl BenchArgs {
    fn budget(&self) -> Budget {
        match (self.runs, self.min_secs) {
            (_, Some(s)) => Budget::Secs(s.max(0.0)),
            (Some(n), None) => Budget::Runs(n.max(1)),
            (None, None) => Budget::Runs(20),
        }
    }
}

/// Seeded inputs in each input's natural range.
pub fn bench_inputs(interp: &Interpreter) -> crate::Result<Vec<crate::Tensor>> {
    use crate::{DType, Data, Tensor};
    (0..interp.num_inputs())
        .map(|i| {
            let info = interp.input_info(i)?;
            let n: usize = info.shape.iter().product();
            let wave = |k: usize| ((k * 2_654_435_761) % 1000) as f32 / 500.0 - 1.0;
            let data = match info.dtype {
                DType::F32 => Data::F32((0..n).map(wave).collect()),
                DType::I8 => Data::I8((0..n).map(|k| (wave(k) * 127.0) as i8).collect()),
                DType::U8 => Data::U8((0..n).map(|k| ((wave(k) + 1.0) * 127.0) as u8).collect()),
                other => Tensor::zeros(other, info.shape.clone())?.data,
            };
            Ok(Tensor::new(info.shape.clone(), data))
        })
        .collect()
}

/// The backends to run on: every one with an adapter for `all`, else the one asked.
fn backends(arg: BackendArg) -> Vec<(String, Backend)> {
    let name = |b: BackendArg| {
        b.to_possible_value()
            .map_or_else(String::new, |v| v.get_name().to_string())
    };
    let one = |b: BackendArg, backend: Backend| (name(b), backend);
    match arg {
        BackendArg::All => [
            (BackendArg::Vulkan, Backend::Vulkan),
            (BackendArg::Metal, Backend::Metal),
            (BackendArg::Dx12, Backend::Dx12),
            (BackendArg::Gl, Backend::Gl),
        ]
        .into_iter()
        .filter(|&(_, backend)| {
            crate::gpu::shared_device(DeviceOptions {
                backend,
                high_performance: true,
            })
            .is_ok()
        })
        .map(|(b, backend)| one(b, backend))
        .collect(),
        BackendArg::Auto => vec![one(arg, Backend::Auto)],
        BackendArg::Vulkan => vec![one(arg, Backend::Vulkan)],
        BackendArg::Metal => vec![one(arg, Backend::Metal)],
        BackendArg::Dx12 => vec![one(arg, Backend::Dx12)],
        BackendArg::Gl => vec![one(arg, Backend::Gl)],
    }
}

/// Options for `backend`, the rest as the flags say.
fn on_backend(base: &Options, backend: Backend) -> Options {
    let mut o = base.clone();
    o.gpu.backend = backend;
    o
}

/// Time `model` as the flags say.
pub fn bench(model: &Option<PathBuf>, args: &BenchArgs, exec: &ExecArgs) -> crate::Result<()> {
    let start = std::time::Instant::now();
    let (m, name) = load(model)?;
    let load_time = start.elapsed();
    let base = super::with_profile(options(exec)?, args.adapter_profile.as_deref())?;
    super::check_plan(&base, &m, &name)?;
    let mut list = backends(exec.backend);
    if matches!(base.device, crate::Device::Cpu) && !args.compare {
        list.truncate(1);
    }
    if list.is_empty() {
        return Err(crate::Error::NoAdapter("no backend has an adapter".into()));
    }
    if args.compare {
        return compare::compare(&m, &name, args, &base, &list);
    }
    let mut docs = Vec::new();
    for (backend_name, backend) in &list {
        let options = on_backend(&base, *backend);
        let measured = measure::measure(&m, options.clone(), args, load_time)?;
        let doc = report::document(&m, &name, backend_name, &options, args, &measured);
        if !args.json {
            report::print(&doc, args.profile);
        }
        docs.push(doc);
    }
    if args.json {
        let out = if docs.len() == 1 {
            docs.remove(0)
        } else {
            serde_json::Value::Array(docs)
        };
        outln!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    }
    Ok(())
}
