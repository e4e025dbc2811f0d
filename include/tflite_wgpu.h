/*
 * tflite_wgpu.h: the C interface of libtflite_wgpu, a LiteRT / TensorFlow Lite
 * external delegate that runs supported partitions of a model on the GPU (wgpu:
 * Vulkan, Metal, DX12 or GL).
 *
 * The library's file name by platform: libtflite_wgpu.so (Linux),
 * libtflite_wgpu.dylib (macOS), tflite_wgpu.dll with the import library
 * tflite_wgpu.dll.lib (Windows); the Python wheel's tflite_wgpu/_native.abi3.so
 * (_native.pyd on Windows, see tflite_wgpu.library_path()) exports the same ABI.
 *
 * LiteRT hosts normally load it by path, without this header:
 *   Python: Interpreter(model_path=..., experimental_delegates=[
 *               load_delegate("libtflite_wgpu.so", {"is_precision_loss_allowed": "1"})])
 *   C++ tools: --external_delegate_path=libtflite_wgpu.so
 *              --external_delegate_options='is_precision_loss_allowed:1'
 *   C API: TfLiteExternalDelegateCreate with lib_path set to the library.
 * A host that links or dlopens the library itself declares the entry points with
 * this header and passes the returned TfLiteDelegate* to
 * TfLiteInterpreterOptionsAddDelegate / ModifyGraphWithDelegate.
 *
 * Options (string keys and values):
 *   is_precision_loss_allowed  0 | 1         fp16 storage and math (default 0)
 *   backend                    auto | vulkan | metal | dx12 | gl (default auto)
 *   max_delegated_partitions   N             at most N partitions, 0 = no limit
 *   power_preference           low_power | high_performance | default
 *   fp32_nodes                 "3,17,42"     prepared-graph nodes kept at fp32
 *   min_nodes_per_partition    N >= 1        smaller partitions stay on the CPU
 * An unknown key or a bad value makes tflite_plugin_create_delegate return NULL
 * after calling report_error with the reason.
 */
#ifndef TFLITE_WGPU_H_
#define TFLITE_WGPU_H_

#include <stddef.h>
#include <stdint.h>

/* The library exports these functions on every platform. A host that links
 * against it declares them imported from the DLL on Windows and with default
 * visibility elsewhere; define TFLITE_WGPU_API before including this header to
 * override (for example as empty when only taking function pointers from
 * dlsym/GetProcAddress). */
#ifndef TFLITE_WGPU_API
#if defined(_WIN32) || defined(__CYGWIN__)
#define TFLITE_WGPU_API __declspec(dllimport)
#elif defined(__GNUC__) || defined(__clang__)
#define TFLITE_WGPU_API __attribute__((visibility("default")))
#else
#define TFLITE_WGPU_API
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The runtime's delegate struct (tflite/core/c/common.h); opaque here. */
struct TfLiteDelegate;

/* Create a delegate from num_options key/value pairs. Returns NULL on failure and
 * explains why through report_error (which may be NULL). The option "report"
 * names a file the delegate writes its plan to (JSON: adapter, claimed node
 * indices, partitions with their precision, nodes left to the host with the
 * reason, nodes promoted to fp32) after each Prepare and whenever the plan
 * changes. The delegate accepts graphs with dynamic-sized tensors
 * (kTfLiteDelegateFlagsAllowDynamicTensors). */
TFLITE_WGPU_API struct TfLiteDelegate* tflite_plugin_create_delegate(
    const char* const* options_keys, const char* const* options_values,
    size_t num_options, void (*report_error)(const char*));

/* Destroy a delegate made by tflite_plugin_create_delegate, after every
 * interpreter using it is gone. NULL is allowed. */
TFLITE_WGPU_API void tflite_plugin_destroy_delegate(struct TfLiteDelegate* delegate);

/* Bytes of GPU buffers held by live delegate kernels of this library. */
TFLITE_WGPU_API uint64_t tflite_wgpu_live_gpu_bytes(void);

/* Number of live delegate kernels (one per delegated partition). */
TFLITE_WGPU_API uint64_t tflite_wgpu_live_kernels(void);

/* out[0]: input tensors this library's delegate kernels were handed; out[1]: the
 * host copies they made of those inputs' elements (into the delegate's own
 * tensors and into GPU staging buffers). An input only the GPU reads is copied
 * once, from the runtime's memory straight into its staging buffer. Returns 0,
 * or 1 when out is NULL. */
TFLITE_WGPU_API int tflite_wgpu_input_copies(uint64_t out[2]);

/* Number of Prepare calls (one per subgraph, the primary subgraph first) since the
 * last delegate was created. */
TFLITE_WGPU_API uint64_t tflite_wgpu_prepare_count(void);

/* What Prepare call `index` decided: out[0] prepared nodes (constants folded,
 * activations fused), out[1] prepared nodes delegated, out[2] runtime nodes
 * delegated, out[3] partitions. Returns 0, or 1 when out is NULL or there is no
 * such call. */
TFLITE_WGPU_API int tflite_wgpu_prepare_stats(uint64_t index, uint64_t out[4]);

#ifdef __cplusplus
}
#endif

#endif /* TFLITE_WGPU_H_ */
