//! `#[repr(C)]` mirrors of the TFLite C structs a delegate reads and writes, laid out
//! as in LiteRT's `tflite/core/c/common.h` and `builtin_op_data.h` on LP64 targets.
//! Every size and field offset is checked at compile time.

#![allow(non_snake_case)]

use super::error::{CapiError, CapiResult};
use std::ffi::{c_char, c_void};
use std::mem::{offset_of, size_of};

/// `TfLiteStatus`.
pub type TfLiteStatus = i32;
/// `kTfLiteOk`.
pub const K_OK: TfLiteStatus = 0;
/// `kTfLiteError`.
pub const K_ERROR: TfLiteStatus = 1;
/// `kTfLiteDelegateError`.
pub const K_DELEGATE_ERROR: TfLiteStatus = 2;

/// `kTfLiteMmapRo`: read-only data mapped from the model (constants).
pub const ALLOC_MMAP_RO: i32 = 1;
/// `kTfLiteDynamic`: a tensor whose kernel sets its shape (and allocates it) at
/// Invoke.
pub const ALLOC_DYNAMIC: i32 = 4;
/// `kTfLiteDelegateFlagsAllowDynamicTensors`: the delegate is applied to graphs
/// with dynamic-sized tensors, before the runtime allocates them.
pub const FLAG_ALLOW_DYNAMIC_TENSORS: i64 = 1;
/// `kTfLiteAffineQuantization`.
pub const AFFINE_QUANTIZATION: i32 = 1;
/// `kTfLiteBuiltinDelegate`: the builtin code of delegate kernel nodes.
pub const BUILTIN_DELEGATE: i32 = crate::model::code::DELEGATE;

/// `TfLiteIntArray { int size; int data[]; }`.
#[repr(C)]
pub struct TfLiteIntArray {
    /// Number of elements.
    pub size: i32,
    /// The first element of the flexible array.
    pub data: [i32; 0],
}

/// `TfLiteFloatArray { int size; float data[]; }`.
#[repr(C)]
pub struct TfLiteFloatArray {
    /// Number of elements.
    pub size: i32,
    /// The first element of the flexible array.
    pub data: [f32; 0],
}

/// `TfLiteQuantizationParams`: the legacy per-tensor quantization.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct TfLiteQuantizationParams {
    /// Scale.
    pub scale: f32,
    /// Zero point.
    pub zero_point: i32,
}

/// `TfLiteQuantization`: a tagged pointer to the quantization parameters.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct TfLiteQuantization {
    /// `kTfLiteNoQuantization` (0) or `kTfLiteAffineQuantization` (1).
    pub type_: i32,
    /// A `TfLiteAffineQuantization*` for affine quantization.
    pub params: *mut c_void,
}

/// `TfLiteAffineQuantization`.
#[repr(C)]
pub struct TfLiteAffineQuantization {
    /// One scale per tensor or per channel.
    pub scale: *mut TfLiteFloatArray,
    /// One zero point per tensor or per channel.
    pub zero_point: *mut TfLiteIntArray,
    /// The channel axis.
    pub quantized_dimension: i32,
}

/// `TfLiteDimensionMetadata`: storage of one traversed dimension of a sparse tensor.
#[repr(C)]
pub struct TfLiteDimensionMetadata {
    /// `kTfLiteDimDense` (0) or `kTfLiteDimSparseCSR` (1).
    pub format: i32,
    /// Size of a dense dimension.
    pub dense_size: i32,
    /// CSR segment boundaries.
    pub array_segments: *mut TfLiteIntArray,
    /// CSR indices.
    pub array_indices: *mut TfLiteIntArray,
}

/// `TfLiteSparsity`.
#[repr(C)]
pub struct TfLiteSparsity {
    /// Traversal order of the dimensions.
    pub traversal_order: *mut TfLiteIntArray,
    /// Block dimension to original dimension map.
    pub block_map: *mut TfLiteIntArray,
    /// One entry per traversed dimension.
    pub dim_metadata: *mut TfLiteDimensionMetadata,
    /// Number of entries of `dim_metadata`.
    pub dim_metadata_size: i32,
}

/// `TfLiteTensor`.
#[repr(C)]
pub struct TfLiteTensor {
    /// `TfLiteType`.
    pub type_: i32,
    /// Data pointer (a union of typed pointers in C).
    pub data: *mut c_void,
    /// Dimensions.
    pub dims: *mut TfLiteIntArray,
    /// Legacy quantization.
    pub params: TfLiteQuantizationParams,
    /// `TfLiteAllocationType`.
    pub allocation_type: i32,
    /// Size of `data` in bytes.
    pub bytes: usize,
    /// Opaque allocation.
    pub allocation: *const c_void,
    /// Name (may be NULL).
    pub name: *const c_char,
    /// The delegate that owns the buffer handle.
    pub delegate: *mut TfLiteDelegate,
    /// Buffer handle.
    pub buffer_handle: i32,
    /// The delegate's copy is newer than `data`.
    pub data_is_stale: bool,
    /// A variable tensor.
    pub is_variable: bool,
    /// Quantization.
    pub quantization: TfLiteQuantization,
    /// `TfLiteSparsity*` of a sparse constant.
    pub sparsity: *mut TfLiteSparsity,
    /// Shape with -1 for dynamic dimensions (may be NULL).
    pub dims_signature: *const TfLiteIntArray,
}

/// `TfLiteNode`.
#[repr(C)]
pub struct TfLiteNode {
    /// Input tensor indices (-1: omitted optional input).
    pub inputs: *mut TfLiteIntArray,
    /// Output tensor indices.
    pub outputs: *mut TfLiteIntArray,
    /// Intermediate tensors.
    pub intermediates: *mut TfLiteIntArray,
    /// Temporary tensors.
    pub temporaries: *mut TfLiteIntArray,
    /// What the kernel's init returned.
    pub user_data: *mut c_void,
    /// The builtin options struct.
    pub builtin_data: *mut c_void,
    /// Custom options bytes.
    pub custom_initial_data: *const c_void,
    /// Size of `custom_initial_data`.
    pub custom_initial_data_size: i32,
    /// The delegate that replaced this node.
    pub delegate: *mut TfLiteDelegate,
    /// The node may have side effects.
    pub might_have_side_effect: bool,
}

/// Kernel init: `buffer` is a `const TfLiteDelegateParams*` for delegate kernels.
pub type InitFn = unsafe extern "C" fn(*mut TfLiteContext, *const c_char, usize) -> *mut c_void;
/// Kernel free.
pub type FreeFn = unsafe extern "C" fn(*mut TfLiteContext, *mut c_void);
/// Kernel prepare or invoke.
pub type NodeFn = unsafe extern "C" fn(*mut TfLiteContext, *mut TfLiteNode) -> TfLiteStatus;

/// `TfLiteRegistration`, passed by value to `ReplaceNodeSubsetsWithDelegateKernels`.
#[repr(C)]
pub struct TfLiteRegistration {
    /// Kernel init.
    pub init: Option<InitFn>,
    /// Kernel free.
    pub free: Option<FreeFn>,
    /// Kernel prepare.
    pub prepare: Option<NodeFn>,
    /// Kernel invoke.
    pub invoke: Option<NodeFn>,
    /// Profiling string.
    pub profiling_string: *const c_void,
    /// Builtin operator code.
    pub builtin_code: i32,
    /// Name of a custom op or delegate kernel.
    pub custom_name: *const c_char,
    /// Op version.
    pub version: i32,
    /// Opaque external registration (NULL).
    pub registration_external: *const c_void,
    /// Async kernel getter (NULL).
    pub async_kernel: *const c_void,
    /// In-place operator flags (0).
    pub inplace_operator: u64,
}

/// `GetExecutionPlan`.
pub type GetExecutionPlanFn =
    unsafe extern "C" fn(*mut TfLiteContext, *mut *mut TfLiteIntArray) -> TfLiteStatus;
/// `ReportError` (printf-style).
pub type ReportErrorFn = unsafe extern "C" fn(*mut TfLiteContext, *const c_char, ...);
/// `GetNodeAndRegistration`.
pub type GetNodeAndRegistrationFn = unsafe extern "C" fn(
    *mut TfLiteContext,
    i32,
    *mut *mut TfLiteNode,
    *mut *mut TfLiteRegistration,
) -> TfLiteStatus;
/// `ReplaceNodeSubsetsWithDelegateKernels`.
pub type ReplaceNodeSubsetsFn = unsafe extern "C" fn(
    *mut TfLiteContext,
    TfLiteRegistration,
    *const TfLiteIntArray,
    *mut TfLiteDelegate,
) -> TfLiteStatus;

/// `TfLiteContext` (only the entries a delegate calls are typed).
#[repr(C)]
pub struct TfLiteContext {
    /// Number of tensors.
    pub tensors_size: usize,
    /// The execution plan.
    pub GetExecutionPlan: Option<GetExecutionPlanFn>,
    /// All tensors.
    pub tensors: *mut TfLiteTensor,
    /// Runtime internals.
    pub impl_: *mut c_void,
    /// ResizeTensor.
    pub ResizeTensor: *const c_void,
    /// Error reporter.
    pub ReportError: Option<ReportErrorFn>,
    /// AddTensors.
    pub AddTensors: *const c_void,
    /// Node and registration by execution-plan index.
    pub GetNodeAndRegistration: Option<GetNodeAndRegistrationFn>,
    /// Replace node subsets with delegate kernels.
    pub ReplaceNodeSubsetsWithDelegateKernels: Option<ReplaceNodeSubsetsFn>,
    /// Thread count hint.
    pub recommended_num_threads: i32,
    /// GetExternalContext.
    pub GetExternalContext: *const c_void,
    /// SetExternalContext.
    pub SetExternalContext: *const c_void,
    /// fp32 may be computed at fp16.
    pub allow_fp32_relax_to_fp16: bool,
    /// Profiler.
    pub profiler: *mut c_void,
    /// AllocatePersistentBuffer.
    pub AllocatePersistentBuffer: *const c_void,
    /// AllocateBufferForEval.
    pub AllocateBufferForEval: *const c_void,
    /// RequestScratchBufferInArena.
    pub RequestScratchBufferInArena: *const c_void,
    /// GetScratchBuffer.
    pub GetScratchBuffer: *const c_void,
    /// ResizeTensorExplicit.
    pub ResizeTensorExplicit: *const c_void,
    /// PreviewDelegatePartitioning.
    pub PreviewDelegatePartitioning: *const c_void,
    /// GetTensor.
    pub GetTensor: *const c_void,
    /// GetEvalTensor.
    pub GetEvalTensor: *const c_void,
    /// GetModelMetadata.
    pub GetModelMetadata: *const c_void,
    /// AcquireSubgraphContext.
    pub AcquireSubgraphContext: *const c_void,
    /// ReleaseSubgraphContext.
    pub ReleaseSubgraphContext: *const c_void,
}

/// `TfLiteDelegateParams`: what a delegate kernel's init receives.
#[repr(C)]
pub struct TfLiteDelegateParams {
    /// The delegate.
    pub delegate: *mut TfLiteDelegate,
    /// Execution-plan indices of the replaced nodes.
    pub nodes_to_replace: *mut TfLiteIntArray,
    /// Tensors read by the subset.
    pub input_tensors: *mut TfLiteIntArray,
    /// Tensors the subset produces for the rest of the graph.
    pub output_tensors: *mut TfLiteIntArray,
}

/// Delegate Prepare.
pub type PrepareFn = unsafe extern "C" fn(*mut TfLiteContext, *mut TfLiteDelegate) -> TfLiteStatus;

/// `TfLiteDelegate`.
#[repr(C)]
pub struct TfLiteDelegate {
    /// The delegate's own data.
    pub data_: *mut c_void,
    /// Called once per graph to claim nodes.
    pub Prepare: Option<PrepareFn>,
    /// Buffer-handle copy-in (unused: NULL).
    pub CopyFromBufferHandle: *const c_void,
    /// Buffer-handle copy-out (unused: NULL).
    pub CopyToBufferHandle: *const c_void,
    /// Buffer-handle release (unused: NULL).
    pub FreeBufferHandle: *const c_void,
    /// `TfLiteDelegateFlags`.
    pub flags: i64,
    /// Opaque delegate builder (NULL).
    pub opaque_delegate_builder: *const c_void,
}

/// `TfLiteConvParams`.
#[repr(C)]
pub struct TfLiteConvParams {
    /// `TfLitePadding`.
    pub padding: i32,
    /// Horizontal stride.
    pub stride_width: i32,
    /// Vertical stride.
    pub stride_height: i32,
    /// `TfLiteFusedActivation`.
    pub activation: i32,
    /// Horizontal dilation.
    pub dilation_width_factor: i32,
    /// Vertical dilation.
    pub dilation_height_factor: i32,
}

/// `TfLiteDepthwiseConvParams`.
#[repr(C)]
pub struct TfLiteDepthwiseConvParams {
    /// `TfLitePadding`.
    pub padding: i32,
    /// Horizontal stride.
    pub stride_width: i32,
    /// Vertical stride.
    pub stride_height: i32,
    /// Depth multiplier.
    pub depth_multiplier: i32,
    /// `TfLiteFusedActivation`.
    pub activation: i32,
    /// Horizontal dilation.
    pub dilation_width_factor: i32,
    /// Vertical dilation.
    pub dilation_height_factor: i32,
}

/// `TfLitePoolParams` (without the trailing computed padding, never read).
#[repr(C)]
pub struct TfLitePoolParams {
    /// `TfLitePadding`.
    pub padding: i32,
    /// Horizontal stride.
    pub stride_width: i32,
    /// Vertical stride.
    pub stride_height: i32,
    /// Window width.
    pub filter_width: i32,
    /// Window height.
    pub filter_height: i32,
    /// `TfLiteFusedActivation`.
    pub activation: i32,
}

/// `TfLiteTransposeConvParams`.
#[repr(C)]
pub struct TfLiteTransposeConvParams {
    /// `TfLitePadding`.
    pub padding: i32,
    /// Horizontal stride.
    pub stride_width: i32,
    /// Vertical stride.
    pub stride_height: i32,
    /// `TfLiteFusedActivation`.
    pub activation: i32,
}

/// `TfLiteFullyConnectedParams`.
#[repr(C)]
pub struct TfLiteFullyConnectedParams {
    /// `TfLiteFusedActivation`.
    pub activation: i32,
    /// Weights format (0: default).
    pub weights_format: i32,
    /// Keep the input's leading dimensions.
    pub keep_num_dims: bool,
    /// Hybrid kernels quantize inputs asymmetrically.
    pub asymmetric_quantize_inputs: bool,
}

/// `TfLiteAddParams` / `TfLiteSubParams`.
#[repr(C)]
pub struct TfLiteAddParams {
    /// `TfLiteFusedActivation`.
    pub activation: i32,
    /// Power-of-two scales for int16.
    pub pot_scale_int16: bool,
}

/// `TfLiteMulParams`, `TfLiteDivParams`, `TfLiteL2NormParams`: one activation.
#[repr(C)]
pub struct TfLiteActivationParams {
    /// `TfLiteFusedActivation`.
    pub activation: i32,
}

/// `TfLiteConcatenationParams`.
#[repr(C)]
pub struct TfLiteConcatenationParams {
    /// Axis.
    pub axis: i32,
    /// `TfLiteFusedActivation`.
    pub activation: i32,
}

/// `TfLiteReshapeParams`.
#[repr(C)]
pub struct TfLiteReshapeParams {
    /// Up to 8 dimensions.
    pub shape: [i32; 8],
    /// Number of used entries of `shape`.
    pub num_dimensions: i32,
}

/// `TfLiteSqueezeParams`.
#[repr(C)]
pub struct TfLiteSqueezeParams {
    /// Up to 8 axes.
    pub squeeze_dims: [i32; 8],
    /// Number of used entries.
    pub num_squeeze_dims: i32,
}

/// `TfLiteStridedSliceParams`.
#[repr(C)]
pub struct TfLiteStridedSliceParams {
    /// Begin mask.
    pub begin_mask: i32,
    /// End mask.
    pub end_mask: i32,
    /// Ellipsis mask.
    pub ellipsis_mask: i32,
    /// New-axis mask.
    pub new_axis_mask: i32,
    /// Shrink-axis mask.
    pub shrink_axis_mask: i32,
    /// `end` is an offset from `begin`.
    pub offset: bool,
}

/// Two bools: `TfLiteResizeBilinearParams` (align_corners, half_pixel_centers),
/// `TfLiteResizeNearestNeighborParams` and `TfLiteCumsumParams` (exclusive, reverse).
#[repr(C)]
pub struct TfLiteTwoBools {
    /// First flag.
    pub a: bool,
    /// Second flag.
    pub b: bool,
}

/// `TfLiteBatchMatMulParams`.
#[repr(C)]
pub struct TfLiteBatchMatMulParams {
    /// Adjoint of x.
    pub adj_x: bool,
    /// Adjoint of y.
    pub adj_y: bool,
    /// Hybrid kernels quantize inputs asymmetrically.
    pub asymmetric_quantize_inputs: bool,
}

/// Two ints: `TfLiteGatherParams` (axis, batch_dims), `TfLitePackParams`
/// (values_count, axis), `TfLiteUnpackParams` (num, axis).
#[repr(C)]
pub struct TfLiteTwoInts {
    /// First field.
    pub a: i32,
    /// Second field.
    pub b: i32,
}

macro_rules! layout {
    ($t:ty, $size:expr $(, $field:ident @ $off:expr)*) => {
        const _: () = assert!(size_of::<$t>() == $size);
        $(const _: () = assert!(offset_of!($t, $field) == $off);)*
    };
}

layout!(TfLiteIntArray, 4, size @ 0, data @ 4);
layout!(TfLiteFloatArray, 4, size @ 0, data @ 4);
layout!(TfLiteQuantizationParams, 8, scale @ 0, zero_point @ 4);
layout!(TfLiteQuantization, 16, type_ @ 0, params @ 8);
layout!(TfLiteAffineQuantization, 24, scale @ 0, zero_point @ 8, quantized_dimension @ 16);
layout!(TfLiteDimensionMetadata, 24, format @ 0, dense_size @ 4, array_segments @ 8,
    array_indices @ 16);
layout!(TfLiteSparsity, 32, traversal_order @ 0, block_map @ 8, dim_metadata @ 16,
    dim_metadata_size @ 24);
layout!(TfLiteTensor, 112, type_ @ 0, data @ 8, dims @ 16, params @ 24, allocation_type @ 32,
    bytes @ 40, allocation @ 48, name @ 56, delegate @ 64, buffer_handle @ 72,
    data_is_stale @ 76, is_variable @ 77, quantization @ 80, sparsity @ 96,
    dims_signature @ 104);
layout!(TfLiteNode, 80, inputs @ 0, outputs @ 8, intermediates @ 16, temporaries @ 24,
    user_data @ 32, builtin_data @ 40, custom_initial_data @ 48,
    custom_initial_data_size @ 56, delegate @ 64, might_have_side_effect @ 72);
layout!(TfLiteRegistration, 88, init @ 0, free @ 8, prepare @ 16, invoke @ 24,
    profiling_string @ 32, builtin_code @ 40, custom_name @ 48, version @ 56,
    registration_external @ 64, async_kernel @ 72, inplace_operator @ 80);
layout!(TfLiteContext, 200, tensors_size @ 0, GetExecutionPlan @ 8, tensors @ 16, impl_ @ 24,
    ResizeTensor @ 32, ReportError @ 40, AddTensors @ 48, GetNodeAndRegistration @ 56,
    ReplaceNodeSubsetsWithDelegateKernels @ 64, recommended_num_threads @ 72,
    GetExternalContext @ 80, SetExternalContext @ 88, allow_fp32_relax_to_fp16 @ 96,
    profiler @ 104, AllocatePersistentBuffer @ 112, AllocateBufferForEval @ 120,
    RequestScratchBufferInArena @ 128, GetScratchBuffer @ 136, ResizeTensorExplicit @ 144,
    PreviewDelegatePartitioning @ 152, GetTensor @ 160, GetEvalTensor @ 168,
    GetModelMetadata @ 176, AcquireSubgraphContext @ 184, ReleaseSubgraphContext @ 192);
layout!(TfLiteDelegateParams, 32, delegate @ 0, nodes_to_replace @ 8, input_tensors @ 16,
    output_tensors @ 24);
layout!(TfLiteDelegate, 56, data_ @ 0, Prepare @ 8, CopyFromBufferHandle @ 16,
    CopyToBufferHandle @ 24, FreeBufferHandle @ 32, flags @ 40, opaque_delegate_builder @ 48);
layout!(TfLiteConvParams, 24, padding @ 0, stride_width @ 4, stride_height @ 8,
    activation @ 12, dilation_width_factor @ 16, dilation_height_factor @ 20);
layout!(TfLiteDepthwiseConvParams, 28, padding @ 0, stride_width @ 4, stride_height @ 8,
    depth_multiplier @ 12, activation @ 16, dilation_width_factor @ 20,
    dilation_height_factor @ 24);
layout!(TfLitePoolParams, 24, padding @ 0, stride_width @ 4, stride_height @ 8,
    filter_width @ 12, filter_height @ 16, activation @ 20);
layout!(TfLiteTransposeConvParams, 16, padding @ 0, stride_width @ 4, stride_height @ 8,
    activation @ 12);
layout!(TfLiteFullyConnectedParams, 12, activation @ 0, weights_format @ 4,
    keep_num_dims @ 8, asymmetric_quantize_inputs @ 9);
layout!(TfLiteAddParams, 8, activation @ 0, pot_scale_int16 @ 4);
layout!(TfLiteActivationParams, 4, activation @ 0);
layout!(TfLiteConcatenationParams, 8, axis @ 0, activation @ 4);
layout!(TfLiteReshapeParams, 36, shape @ 0, num_dimensions @ 32);
layout!(TfLiteSqueezeParams, 36, squeeze_dims @ 0, num_squeeze_dims @ 32);
layout!(TfLiteStridedSliceParams, 24, begin_mask @ 0, end_mask @ 4, ellipsis_mask @ 8,
    new_axis_mask @ 12, shrink_axis_mask @ 16, offset @ 20);
layout!(TfLiteTwoBools, 2, a @ 0, b @ 1);
layout!(TfLiteBatchMatMulParams, 3, adj_x @ 0, adj_y @ 1, asymmetric_quantize_inputs @ 2);
layout!(TfLiteTwoInts, 8, a @ 0, b @ 4);

/// The elements of a runtime `TfLiteIntArray` (empty for NULL).
///
/// # Safety
/// `a` is NULL or points to a valid `TfLiteIntArray` that outlives the result.
pub unsafe fn int_array<'a>(a: *const TfLiteIntArray) -> &'a [i32] {
    // SAFETY: the caller upholds this function's `# Safety` contract.
    unsafe {
        if a.is_null() {
            return &[];
        }
        let n = (*a).size.max(0) as usize;
        std::slice::from_raw_parts(std::ptr::addr_of!((*a).data).cast::<i32>(), n)
    }
}

/// The elements of a runtime `TfLiteFloatArray` (empty for NULL).
///
/// # Safety
/// `a` is NULL or points to a valid `TfLiteFloatArray` that outlives the result.
pub unsafe fn float_array<'a>(a: *const TfLiteFloatArray) -> &'a [f32] {
    // SAFETY: the caller upholds this function's `# Safety` contract.
    unsafe {
        if a.is_null() {
            return &[];
        }
        let n = (*a).size.max(0) as usize;
        std::slice::from_raw_parts(std::ptr::addr_of!((*a).data).cast::<f32>(), n)
    }
}

/// A heap `TfLiteIntArray` owned by Rust, for arrays the delegate hands the runtime.
pub struct OwnedIntArray {
    words: Vec<i32>,
}

impl OwnedIntArray {
    /// An array holding `values`.
    pub fn new(values: &[i32]) -> Self {
        let mut words = Vec::with_capacity(values.len() + 1);
        words.push(values.len() as i32);
        words.extend_from_slice(values);
        OwnedIntArray { words }
    }

    /// The C view, valid while `self` lives.
    pub fn as_ptr(&self) -> *const TfLiteIntArray {
        self.words.as_ptr().cast()
    }
}

extern "C" {
    /// The C allocator: the runtime frees the dimension arrays handed to
    /// `ResizeTensor` with `free`.
    fn malloc(size: usize) -> *mut c_void;
}

type ResizeTensorFn = unsafe extern "C" fn(
    *mut TfLiteContext,
    *mut TfLiteTensor,
    *mut TfLiteIntArray,
) -> TfLiteStatus;

/// Give runtime tensor `t` the dimensions `shape` through the context's
/// `ResizeTensor` (which takes ownership of the array it is passed).
///
/// # Safety
/// `ctx` is a valid context and `t` one of its tensors, in a kernel's Prepare or
/// (for a `kTfLiteDynamic` tensor) its Invoke.
pub unsafe fn resize_tensor(
    ctx: *mut TfLiteContext,
    t: *mut TfLiteTensor,
    shape: &[usize],
) -> CapiResult<()> {
    // SAFETY: the caller upholds this function's `# Safety` contract.
    unsafe {
        let resize = (*ctx).ResizeTensor;
        if resize.is_null() {
            return Err("the context has no ResizeTensor".into());
        }
        let dims = shape
            .iter()
            .map(|&d| {
                i32::try_from(d).map_err(|_| CapiError::from(format!("dimension {d} is too large")))
            })
            .collect::<CapiResult<Vec<i32>>>()?;
        let a = malloc(4 * (dims.len() + 1)).cast::<i32>();
        if a.is_null() {
            return Err("out of memory for a dimension array".into());
        }
        *a = dims.len() as i32;
        std::ptr::copy_nonoverlapping(dims.as_ptr(), a.add(1), dims.len());
        let resize: ResizeTensorFn = std::mem::transmute::<*const c_void, ResizeTensorFn>(resize);
        if resize(ctx, t, a.cast()) != K_OK {
            return Err(format!("ResizeTensor to {shape:?} failed").into());
        }
        Ok(())
    }
}
