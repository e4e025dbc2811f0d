/*
 * Load the tflite-wgpu delegate library at run time, create the delegate from
 * options, and (when a LiteRT C library and a model are given) run the model with it.
 *
 *   Linux:   cc -std=c11 -Wall -Wextra -I include examples/c/load_delegate.c -ldl -o load_delegate
 *            ./load_delegate target/release/libtflite_wgpu.so
 *            ./load_delegate target/release/libtflite_wgpu.so libtensorflowlite_c.so model.tflite
 *   macOS:   cc -std=c11 -Wall -Wextra -I include examples/c/load_delegate.c -o load_delegate
 *            ./load_delegate target/release/libtflite_wgpu.dylib
 *   Windows: cl /W4 /I include examples\c\load_delegate.c
 *            load_delegate.exe target\release\tflite_wgpu.dll
 *
 * The LiteRT C API is looked up at run time too, so this builds without its headers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tflite_wgpu.h"

/* dlopen/dlsym on Linux and macOS, LoadLibrary/GetProcAddress on Windows. */
#ifdef _WIN32
#include <windows.h>
static void* lib_open(const char* path) { return (void*)LoadLibraryA(path); }
static void* lib_sym(void* lib, const char* name) {
  FARPROC f = GetProcAddress((HMODULE)lib, name);
  void* p;
  memcpy(&p, &f, sizeof p);
  return p;
}
static const char* lib_error(void) {
  static char message[64];
  snprintf(message, sizeof message, "Windows error %lu", (unsigned long)GetLastError());
  return message;
}
#else
#include <dlfcn.h>
static void* lib_open(const char* path) { return dlopen(path, RTLD_NOW | RTLD_LOCAL); }
static void* lib_sym(void* lib, const char* name) { return dlsym(lib, name); }
static const char* lib_error(void) { return dlerror(); }
#endif

typedef struct TfLiteDelegate* (*create_fn)(const char* const*, const char* const*, size_t,
                                           void (*)(const char*));
typedef void (*destroy_fn)(struct TfLiteDelegate*);
typedef int (*stats_fn)(uint64_t, uint64_t*);

static void report_error(const char* message) { fprintf(stderr, "delegate: %s\n", message); }

static void* need(void* lib, const char* name) {
  void* f = lib_sym(lib, name);
  if (!f) {
    fprintf(stderr, "%s: %s\n", name, lib_error());
    exit(1);
  }
  return f;
}

/* Run `model` with the LiteRT C API in `litert_path`, the delegate attached. */
static int run_model(const char* litert_path, const char* model, struct TfLiteDelegate* d) {
  void* rt = lib_open(litert_path);
  if (!rt) {
    fprintf(stderr, "%s: %s\n", litert_path, lib_error());
    return 1;
  }
  void* (*model_create)(const char*) = (void* (*)(const char*))need(rt, "TfLiteModelCreateFromFile");
  void* (*options_create)(void) = (void* (*)(void))need(rt, "TfLiteInterpreterOptionsCreate");
  void (*add_delegate)(void*, struct TfLiteDelegate*) =
      (void (*)(void*, struct TfLiteDelegate*))need(rt, "TfLiteInterpreterOptionsAddDelegate");
  void* (*interp_create)(const void*, const void*) =
      (void* (*)(const void*, const void*))need(rt, "TfLiteInterpreterCreate");
  int (*allocate)(void*) = (int (*)(void*))need(rt, "TfLiteInterpreterAllocateTensors");
  int (*invoke)(void*) = (int (*)(void*))need(rt, "TfLiteInterpreterInvoke");
  void (*interp_delete)(void*) = (void (*)(void*))need(rt, "TfLiteInterpreterDelete");
  void (*options_delete)(void*) = (void (*)(void*))need(rt, "TfLiteInterpreterOptionsDelete");
  void (*model_delete)(void*) = (void (*)(void*))need(rt, "TfLiteModelDelete");

  void* m = model_create(model);
  if (!m) {
    fprintf(stderr, "cannot load %s\n", model);
    return 1;
  }
  void* o = options_create();
  add_delegate(o, d);
  void* it = interp_create(m, o);
  int status = (it && allocate(it) == 0 && invoke(it) == 0) ? 0 : 1;
  printf("invoke with the delegate: %s\n", status == 0 ? "ok" : "failed");
  if (it) interp_delete(it);
  options_delete(o);
  model_delete(m);
  return status;
}

int main(int argc, char** argv) {
  if (argc != 2 && argc != 4) {
    fprintf(stderr, "usage: %s DELEGATE_LIBRARY [LITERT_C_LIBRARY model.tflite]\n", argv[0]);
    return 2;
  }
  void* lib = lib_open(argv[1]);
  if (!lib) {
    fprintf(stderr, "%s: %s\n", argv[1], lib_error());
    return 1;
  }
  create_fn create = (create_fn)need(lib, "tflite_plugin_create_delegate");
  destroy_fn destroy = (destroy_fn)need(lib, "tflite_plugin_destroy_delegate");
  stats_fn stats = (stats_fn)need(lib, "tflite_wgpu_prepare_stats");

  /* A bad option is refused with a reason. */
  const char* bad_keys[] = {"backend"};
  const char* bad_values[] = {"cuda"};
  if (create(bad_keys, bad_values, 1, report_error) != NULL) {
    fprintf(stderr, "a bad option was accepted\n");
    return 1;
  }

  const char* keys[] = {"is_precision_loss_allowed", "backend"};
  const char* values[] = {"1", "auto"};
  struct TfLiteDelegate* d = create(keys, values, 2, report_error);
  if (!d) {
    fprintf(stderr, "no delegate (no usable GPU?)\n");
    return 1;
  }
  printf("delegate created\n");
  int status = 0;
  if (argc == 4) {
    status = run_model(argv[2], argv[3], d);
    uint64_t s[4];
    if (stats(0, s) == 0) {
      printf("primary subgraph: %llu of %llu prepared nodes in %llu partitions\n",
             (unsigned long long)s[1], (unsigned long long)s[0], (unsigned long long)s[3]);
    }
  }
  destroy(d);
  printf("delegate destroyed\n");
  return status;
}
