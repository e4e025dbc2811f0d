//! The LiteRT / TensorFlow Lite external delegate C ABI: the `cdylib` exports
//! `tflite_plugin_create_delegate` and `tflite_plugin_destroy_delegate`, so
//! `load_delegate("libtflite_wgpu.so", {...})` in Python or `--external_delegate_path`
//! in the C++ tools runs supported partitions of a model on the GPU.
//!
//! At Prepare the delegate reads the runtime's graph into the crate's IR, plans it
//! exactly as `tflite-wgpu inspect --device gpu` does, compiles each partition, and
//! claims only the runtime nodes of partitions that compiled. Every exported function
//! catches panics and checks its pointers.

pub mod abi;
mod claim;
mod error;
mod kernel;
pub mod ops;
pub mod options;
mod report;
mod runtime_graph;

use abi::*;
pub use error::{CapiError, CapiResult};
use kernel::{Kernel, KernelOptions};
use options::DelegateOptions;
use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{c_char, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Mutex;

/// `report_error` callback of the plugin API.
pub type ErrorReporter = Option<unsafe extern "C" fn(*const c_char)>;

/// What the last Prepare decided, for tests and tools.
#[derive(Debug, Clone, Copy, Default)]
pub struct PrepareStats {
    /// Nodes of the prepared graph (constants folded, activations fused).
    pub prepared_nodes: u64,
    /// Prepared nodes in partitions that compiled and were claimed.
    pub prepared_nodes_claimed: u64,
    /// Runtime nodes handed to the delegate.
    pub runtime_nodes_claimed: u64,
    /// Partitions of the plan that compiled.
    pub partitions: u64,
}

/// One entry per Prepare (one per subgraph, the primary subgraph first) since the
/// last delegate was created.
static PREPARES: Mutex<Vec<PrepareStats>> = Mutex::new(Vec::new());

/// One delegate instance: its options and, during Prepare, the prepared graph and
/// the kernels compiled while validating the plan.
struct State {
    options: DelegateOptions,
    /// The prepared graph of the running Prepare and its plan-position mapping.
    prepared: Option<(claim::Mapping, Vec<i32>)>,
    /// Kernels compiled at Prepare, keyed by their prepared node lists.
    compiled: HashMap<Vec<usize>, Kernel>,
    /// The report of every subgraph prepared so far (option `report`).
    book: report::SharedBook,
}

/// The heap block behind the `TfLiteDelegate*` handed to the runtime.
struct Plugin {
    delegate: TfLiteDelegate,
    state: Mutex<State>,
}

thread_local! {
    /// The plugin whose Prepare runs on this thread (kernel init is called from
    /// inside it).
    static CURRENT: RefCell<*const Plugin> = const { RefCell::new(std::ptr::null()) };
}

fn report(reporter: ErrorReporter, msg: &dyn std::fmt::Display) {
    if let Some(f) = reporter {
        let c = CString::new(msg.to_string().replace('\0', " ")).unwrap_or_default();
        // SAFETY: the host gave this callback for error strings.
        unsafe { f(c.as_ptr()) };
    }
}

/// Report through the context's printf-style ReportError.
///
/// # Safety
/// `ctx` is NULL or a valid context.
unsafe fn context_error(ctx: *mut TfLiteContext, msg: &dyn std::fmt::Display) {
    // SAFETY: the caller upholds this function's `# Safety` contract.
    unsafe {
        if ctx.is_null() {
            return;
        }
        if let Some(f) = (*ctx).ReportError {
            let c = CString::new(format!(
                "tflite-wgpu: {}",
                msg.to_string().replace('\0', " ")
            ))
            .unwrap_or_default();
            f(ctx, c"%s".as_ptr(), c.as_ptr());
        }
    }
}

/// Create a delegate from string options; NULL (and a message through
/// `report_error`) on an unknown key, a bad value or no usable GPU.
///
/// # Safety
/// `keys` and `values` hold `num_options` NUL-terminated strings each.
#[no_mangle]
pub unsafe extern "C" fn tflite_plugin_create_delegate(
    keys: *const *const c_char,
    values: *const *const c_char,
    num_options: usize,
    report_error: ErrorReporter,
) -> *mut TfLiteDelegate {
    // SAFETY: the caller upholds this function's `# Safety` contract.
    unsafe {
        let made = catch_unwind(AssertUnwindSafe(|| {
            create(keys, values, num_options)
                .map_err(|e| CapiError::from(format!("tflite-wgpu: {e}")))
        }));
        match made {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => {
                report(report_error, &e);
                std::ptr::null_mut()
            }
            Err(_) => {
                report(
                    report_error,
                    &"tflite-wgpu: internal error while creating the delegate",
                );
                std::ptr::null_mut()
            }
        }
    }
}

/// Parse the plugin options and open the GPU.
///
/// # Safety
/// As [`tflite_plugin_create_delegate`]: `keys` and `values` hold `num_options`
/// NUL-terminated strings each.
unsafe fn create(
    keys: *const *const c_char,
    values: *const *const c_char,
    n: usize,
) -> CapiResult<*mut TfLiteDelegate> {
    // SAFETY: the caller upholds this function's `# Safety` contract.
    unsafe {
        if n > 0 && (keys.is_null() || values.is_null()) {
            return Err("option keys or values are NULL".into());
        }
        let mut pairs = Vec::with_capacity(n);
        for i in 0..n {
            let (k, v) = (*keys.add(i), *values.add(i));
            if k.is_null() || v.is_null() {
                return Err(format!("option {i} has a NULL key or value").into());
            }
            let k = CStr::from_ptr(k)
                .to_str()
                .map_err(|_| CapiError::from(format!("option {i}: key is not UTF-8")))?;
            let v = CStr::from_ptr(v)
                .to_str()
                .map_err(|_| CapiError::from(format!("option {k}: value is not UTF-8")))?;
            pairs.push((k, v));
        }
        let options = DelegateOptions::parse(pairs)?;
        if let Ok(mut p) = PREPARES.lock() {
            p.clear();
        }
        crate::gpu::shared_device(options.device).map_err(CapiError::from)?;
        crate::warn_if_software_adapter(options.device, "the LiteRT delegate");
        let plugin = Box::new(Plugin {
            delegate: TfLiteDelegate {
                data_: std::ptr::null_mut(),
                Prepare: Some(prepare),
                CopyFromBufferHandle: std::ptr::null(),
                CopyToBufferHandle: std::ptr::null(),
                FreeBufferHandle: std::ptr::null(),
                flags: FLAG_ALLOW_DYNAMIC_TENSORS,
                opaque_delegate_builder: std::ptr::null(),
            },
            state: Mutex::new(State {
                book: std::sync::Arc::new(Mutex::new(report::Book::new(options.report.clone()))),
                options,
                prepared: None,
                compiled: HashMap::new(),
            }),
        });
        let raw = Box::into_raw(plugin);
        (*raw).delegate.data_ = raw.cast::<c_void>();
        Ok(std::ptr::addr_of_mut!((*raw).delegate))
    }
}

/// Destroy a delegate made by [`tflite_plugin_create_delegate`]; NULL is allowed.
///
/// # Safety
/// `delegate` is NULL or came from `tflite_plugin_create_delegate` and is not used
/// afterwards.
#[no_mangle]
pub unsafe extern "C" fn tflite_plugin_destroy_delegate(delegate: *mut TfLiteDelegate) {
    // SAFETY: the caller upholds this function's `# Safety` contract.
    unsafe {
        if delegate.is_null() {
            return;
        }
        let _ = catch_unwind(AssertUnwindSafe(|| {
            let plugin = (*delegate).data_.cast::<Plugin>();
            if !plugin.is_null() {
                drop(Box::from_raw(plugin));
            }
        }));
    }
}

/// Bytes of GPU buffers held by this library's live delegate kernels.
#[no_mangle]
pub extern "C" fn tflite_wgpu_live_gpu_bytes() -> u64 {
    kernel::LIVE_GPU_BYTES.load(Ordering::Relaxed)
}

/// Number of live delegate kernels.
#[no_mangle]
pub extern "C" fn tflite_wgpu_live_kernels() -> u64 {
    kernel::LIVE_KERNELS.load(Ordering::Relaxed)
}

/// Input tensors this library's delegate kernels were handed (`out[0]`) and the
/// host copies they made of those inputs' elements (`out[1]`): into the
/// interpreter's own tensors and into GPU staging buffers. An input that only
/// the GPU reads is copied once, from the runtime's memory straight into its
/// staging buffer. Returns 0, or 1 for NULL.
///
/// # Safety
/// `out` is NULL or points to 2 writable `uint64_t`.
#[no_mangle]
pub unsafe extern "C" fn tflite_wgpu_input_copies(out: *mut u64) -> i32 {
    if out.is_null() {
        return 1;
    }
    let v = [
        kernel::INPUTS_RECEIVED.load(Ordering::Relaxed),
        kernel::INPUT_HOST_COPIES.load(Ordering::Relaxed),
    ];
    // SAFETY: the caller upholds this function's `# Safety` contract.
    unsafe { std::ptr::copy_nonoverlapping(v.as_ptr(), out, 2) };
    0
}

/// Number of Prepare calls (one per subgraph) since the last delegate was created.
#[no_mangle]
pub extern "C" fn tflite_wgpu_prepare_count() -> u64 {
    PREPARES.lock().map(|p| p.len() as u64).unwrap_or(0)
}

/// What Prepare call `index` decided (0: the primary subgraph): writes prepared
/// nodes, prepared nodes claimed, runtime nodes claimed and partitions to
/// `out[0..4]`. Returns 0, or 1 for NULL or no such call.
///
/// # Safety
/// `out` is NULL or points to 4 writable `uint64_t`.
#[no_mangle]
pub unsafe extern "C" fn tflite_wgpu_prepare_stats(index: u64, out: *mut u64) -> i32 {
    // SAFETY: the caller upholds this function's `# Safety` contract.
    unsafe {
        let s = PREPARES
            .lock()
            .ok()
            .and_then(|p| usize::try_from(index).ok().and_then(|i| p.get(i).copied()));
        let (Some(s), false) = (s, out.is_null()) else {
            return 1;
        };
        let v = [
            s.prepared_nodes,
            s.prepared_nodes_claimed,
            s.runtime_nodes_claimed,
            s.partitions,
        ];
        std::ptr::copy_nonoverlapping(v.as_ptr(), out, 4);
        0
    }
}

/// The delegate's Prepare: claim the nodes it runs and replace them by kernels.
///
/// # Safety
/// Called by the runtime with a valid context and a delegate made by
/// [`tflite_plugin_create_delegate`].
unsafe extern "C" fn prepare(
    ctx: *mut TfLiteContext,
    delegate: *mut TfLiteDelegate,
) -> TfLiteStatus {
    // SAFETY: the caller upholds this function's `# Safety` contract.
    unsafe {
        let r = catch_unwind(AssertUnwindSafe(|| {
            if ctx.is_null() || delegate.is_null() || (*delegate).data_.is_null() {
                return Err(CapiError::from("Prepare got a NULL context or delegate"));
            }
            let plugin = (*delegate).data_.cast::<Plugin>().cast_const();
            CURRENT.with(|c| *c.borrow_mut() = plugin);
            let r = prepare_graph(ctx, delegate, &*plugin);
            CURRENT.with(|c| *c.borrow_mut() = std::ptr::null());
            if let Ok(mut s) = (*plugin).state.lock() {
                s.prepared = None;
                s.compiled.clear();
            }
            if let Err(e) = r {
                // A graph the delegate cannot read runs on the runtime's CPU kernels.
                context_error(ctx, &format!("delegating nothing: {e}"));
            }
            Ok(())
        }));
        match r {
            Ok(Ok(())) => K_OK,
            Ok(Err(e)) => {
                context_error(ctx, &e);
                K_DELEGATE_ERROR
            }
            Err(_) => {
                context_error(ctx, &"internal error in Prepare");
                K_DELEGATE_ERROR
            }
        }
    }
}

/// # Safety
/// `ctx` is a valid context during the delegate's Prepare and `delegate` was made
/// by [`tflite_plugin_create_delegate`].
unsafe fn prepare_graph(
    ctx: *mut TfLiteContext,
    delegate: *mut TfLiteDelegate,
    plugin: &Plugin,
) -> CapiResult<()> {
    // SAFETY: the caller upholds this function's `# Safety` contract.
    unsafe {
        let rg = runtime_graph::read(ctx)?;
        let mapping = claim::prepare(&rg.sg)?;
        let (options, kopts) = {
            let s = plugin.state.lock().map_err(|_| "delegate state poisoned")?;
            let o = s.options.resolved(&mapping.sg)?;
            let k = KernelOptions {
                precision_loss_allowed: o.precision_loss_allowed,
                device: o.device,
                fp32_nodes: o.partitions.fp32_nodes.clone(),
                overflow_guard: o.overflow_guard,
                cache_dir: o.cache_dir.clone(),
            };
            (o, k)
        };
        let (gpu, _) = crate::gpu::shared_device(options.device).map_err(CapiError::from)?;
        let caps = crate::delegate::caps_of(Some(&gpu));
        let plan = claim::plan(&mapping.sg, &caps, &options.partitions);
        let mut compiled = HashMap::new();
        let mut gpu_nodes = Vec::new();
        let mut outcome = Vec::with_capacity(plan.partitions.len());
        let mut adapter = gpu.describe();
        for p in &plan.partitions {
            match Kernel::build(&mapping.sg, &p.nodes, None, &kopts) {
                Ok(k) => {
                    gpu_nodes.extend(p.nodes.iter().copied());
                    outcome.push(Ok(k.precision()));
                    adapter = k.adapter();
                    compiled.insert(p.nodes.clone(), k);
                }
                Err(e) => {
                    let runtime: Vec<i32> = p
                        .nodes
                        .iter()
                        .flat_map(|&j| mapping.origin[j].iter().map(|&r| rg.plan[r]))
                        .collect();
                    tracing::warn!(
                        "tflite-wgpu: the partition of runtime nodes {runtime:?} stays on the CPU: {e}"
                    );
                    outcome.push(Err(e));
                }
            }
        }
        // Custom ops the crate runs but LiteRT has no kernel for, left off the GPU:
        // the delegate runs them on the crate's reference kernels, or the model
        // could not run at all.
        let mut host_custom = Vec::new();
        for (j, node) in mapping.sg.nodes.iter().enumerate() {
            if gpu_nodes.contains(&j) || !crate_custom_op(&node.op) {
                continue;
            }
            match Kernel::build_on(&mapping.sg, &[j], None, &kopts, crate::Device::Cpu) {
                Ok(k) => {
                    host_custom.push(j);
                    compiled.insert(vec![j], k);
                }
                Err(e) => tracing::warn!(
                    "tflite-wgpu: custom op node {j} ({}) stays with the runtime: {e}",
                    node.op.name()
                ),
            }
        }
        let mut delegated = gpu_nodes.clone();
        delegated.extend(host_custom.iter().copied());
        let claims = mapping.claims(&rg.sg, &delegated);
        let runtime_nodes: Vec<i32> = claims.iter().map(|&r| rg.plan[r]).collect();
        let doc = report::document(&report::Decision {
            mapping: &mapping,
            runtime_plan: &rg.plan,
            plan: &plan,
            compiled: outcome,
            claimed: &runtime_nodes,
            host_custom: &host_custom,
            adapter,
            precision: if options.precision_loss_allowed {
                "fp16"
            } else {
                "fp32"
            },
        });
        {
            let s = plugin.state.lock().map_err(|_| "delegate state poisoned")?;
            let mut book = s.book.lock().map_err(|_| "delegate report poisoned")?;
            if let Err(e) = book.set(ctx as usize, doc) {
                tracing::warn!("tflite-wgpu: {e}");
            }
        }
        if let Ok(mut p) = PREPARES.lock() {
            p.push(PrepareStats {
                prepared_nodes: mapping.sg.nodes.len() as u64,
                prepared_nodes_claimed: gpu_nodes.len() as u64,
                runtime_nodes_claimed: runtime_nodes.len() as u64,
                partitions: compiled.len() as u64,
            });
        }
        if runtime_nodes.is_empty() {
            return Ok(());
        }
        {
            let mut s = plugin.state.lock().map_err(|_| "delegate state poisoned")?;
            s.prepared = Some((mapping, rg.plan.clone()));
            s.compiled = compiled;
        }
        let replace = (*ctx)
            .ReplaceNodeSubsetsWithDelegateKernels
            .ok_or("the context has no ReplaceNodeSubsetsWithDelegateKernels")?;
        let registration = TfLiteRegistration {
            init: Some(kernel_init),
            free: Some(kernel_free),
            prepare: Some(kernel_prepare),
            invoke: Some(kernel_invoke),
            profiling_string: std::ptr::null(),
            builtin_code: BUILTIN_DELEGATE,
            custom_name: c"TfLiteWgpuDelegate".as_ptr(),
            version: 1,
            registration_external: std::ptr::null(),
            async_kernel: std::ptr::null(),
            inplace_operator: 0,
        };
        let nodes = OwnedIntArray::new(&runtime_nodes);
        if replace(ctx, registration, nodes.as_ptr(), delegate) != K_OK {
            return Err("ReplaceNodeSubsetsWithDelegateKernels failed".into());
        }
        Ok(())
    }
}

/// Custom ops (MediaPipe's) that the crate implements and LiteRT has no builtin
/// kernel for.
fn crate_custom_op(op: &crate::graph::Op) -> bool {
    use crate::graph::Op;
    matches!(
        op,
        Op::TransposeConvBias(_)
            | Op::MaxPoolWithArgmax(_)
            | Op::MaxUnpooling(_)
            | Op::MediaPipe(_)
    )
}

/// Build (or take the one compiled at Prepare) the kernel for `params`.
///
/// # Safety
/// `params` is the runtime's delegate parameters for one kernel node, its arrays
/// valid for the call.
unsafe fn init(plugin: &Plugin, params: &TfLiteDelegateParams) -> CapiResult<Kernel> {
    // SAFETY: the caller upholds this function's `# Safety` contract.
    unsafe {
        let mut s = plugin.state.lock().map_err(|_| "delegate state poisoned")?;
        let State {
            options,
            prepared,
            compiled,
            ..
        } = &mut *s;
        let (mapping, plan) = prepared.as_ref().ok_or("kernel init outside Prepare")?;
        let mut nodes = Vec::new();
        for &n in int_array(params.nodes_to_replace) {
            let pos = plan.iter().position(|&p| p == n).ok_or_else(|| {
                CapiError::from(format!("runtime node {n} is not in the execution plan"))
            })?;
            if let Some(j) = mapping.post_of[pos] {
                if !nodes.contains(&j) {
                    nodes.push(j);
                }
            }
        }
        nodes.sort_unstable();
        let outputs: Vec<usize> = int_array(params.output_tensors)
            .iter()
            .filter_map(|&t| usize::try_from(t).ok())
            .filter(|&t| t < mapping.sg.tensors.len())
            .collect();
        if let Some(k) = compiled.remove(&nodes) {
            if k.writes_exactly(&outputs) {
                return Ok(k);
            }
        }
        let options = options.resolved(&mapping.sg)?;
        let kopts = KernelOptions {
            precision_loss_allowed: options.precision_loss_allowed,
            device: options.device,
            fp32_nodes: options.partitions.fp32_nodes.clone(),
            overflow_guard: options.overflow_guard,
            cache_dir: options.cache_dir.clone(),
        };
        Kernel::build(&mapping.sg, &nodes, Some(&outputs), &kopts)
    }
}

/// The kernel's Init.
///
/// # Safety
/// Called by the runtime with a valid context and `buffer` pointing to the
/// `TfLiteDelegateParams` of the node.
unsafe extern "C" fn kernel_init(
    ctx: *mut TfLiteContext,
    buffer: *const c_char,
    _len: usize,
) -> *mut c_void {
    // SAFETY: the caller upholds this function's `# Safety` contract.
    unsafe {
        let r = catch_unwind(AssertUnwindSafe(|| {
            let plugin = CURRENT.with(|c| *c.borrow());
            if plugin.is_null() || buffer.is_null() {
                return Err(CapiError::from("kernel init without delegate parameters"));
            }
            let params = &*buffer.cast::<TfLiteDelegateParams>();
            let mut k = init(&*plugin, params).map_err(|e| {
                format!(
                    "the delegate kernel for runtime nodes {:?} failed to build: {e}",
                    int_array(params.nodes_to_replace)
                )
            })?;
            if let Ok(s) = (*plugin).state.lock() {
                k.attach(s.book.clone(), ctx as usize);
            }
            Ok(k)
        }));
        match r {
            Ok(Ok(k)) => Box::into_raw(Box::new(k)).cast(),
            Ok(Err(e)) => {
                context_error(ctx, &e);
                std::ptr::null_mut()
            }
            Err(_) => {
                context_error(ctx, &"internal error in kernel init");
                std::ptr::null_mut()
            }
        }
    }
}

/// The kernel's Free.
///
/// # Safety
/// `buffer` is NULL or what `kernel_init` returned, not used afterwards.
unsafe extern "C" fn kernel_free(_ctx: *mut TfLiteContext, buffer: *mut c_void) {
    // SAFETY: the caller upholds this function's `# Safety` contract.
    unsafe {
        if buffer.is_null() {
            return;
        }
        let _ = catch_unwind(AssertUnwindSafe(|| {
            drop(Box::from_raw(buffer.cast::<Kernel>()))
        }));
    }
}

/// The kernel's Prepare.
///
/// # Safety
/// Called by the runtime with a valid context and a node whose `user_data` is
/// what `kernel_init` returned.
unsafe extern "C" fn kernel_prepare(
    ctx: *mut TfLiteContext,
    node: *mut TfLiteNode,
) -> TfLiteStatus {
    // SAFETY: the caller upholds this function's `# Safety` contract.
    unsafe {
        if ctx.is_null() || node.is_null() || (*node).user_data.is_null() {
            context_error(ctx, &"the delegate kernel failed to initialise");
            return K_ERROR;
        }
        let r = catch_unwind(AssertUnwindSafe(|| {
            let k = &mut *(*node).user_data.cast::<Kernel>();
            let tensor = |t: usize| -> CapiResult<*mut TfLiteTensor> {
                let t = i32::try_from(t)
                    .map_err(|_| CapiError::from(format!("tensor index {t} too large")))?;
                runtime_graph::tensor(ctx, t).map(|r| std::ptr::from_ref(r).cast_mut())
            };
            k.prepare(ctx, &tensor)
        }));
        match r {
            Ok(Ok(())) => K_OK,
            Ok(Err(e)) => {
                context_error(ctx, &format!("delegate kernel prepare: {e}"));
                K_ERROR
            }
            Err(_) => {
                context_error(ctx, &"internal error in the delegate kernel's prepare");
                K_ERROR
            }
        }
    }
}

/// The kernel's Invoke.
///
/// # Safety
/// Called by the runtime with a valid context and a node whose `user_data` is
/// what `kernel_init` returned.
unsafe extern "C" fn kernel_invoke(ctx: *mut TfLiteContext, node: *mut TfLiteNode) -> TfLiteStatus {
    // SAFETY: the caller upholds this function's `# Safety` contract.
    unsafe {
        let r = catch_unwind(AssertUnwindSafe(|| {
            if ctx.is_null() || node.is_null() || (*node).user_data.is_null() {
                return Err("invoke of an uninitialised delegate kernel".into());
            }
            let k = &mut *(*node).user_data.cast::<Kernel>();
            let tensor = |t: usize| -> CapiResult<*mut TfLiteTensor> {
                let t = i32::try_from(t)
                    .map_err(|_| CapiError::from(format!("tensor index {t} too large")))?;
                runtime_graph::tensor(ctx, t).map(|r| std::ptr::from_ref(r).cast_mut())
            };
            k.invoke(ctx, &tensor)
        }));
        match r {
            Ok(Ok(())) => K_OK,
            Ok(Err(e)) => {
                context_error(ctx, &e);
                K_ERROR
            }
            Err(_) => {
                context_error(ctx, &"internal error in invoke");
                K_ERROR
            }
        }
    }
}
