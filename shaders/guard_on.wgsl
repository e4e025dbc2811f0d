// The fp16 overflow guard: a store that leaves the f16 range sets the bit of the
// node it stores for in `guard_flags` (one bit per node of the program, cleared
// before each run and read back with the outputs). `guard_slots` maps the
// dispatch's members (see prologue_f16.wgsl) to a flag word and a bit mask; a
// mask of 0 is a member the dispatch does not have. Both sit in the kernel's
// own bind group, past its buffers (bindings 14 and 15: `GUARD_BINDING` in
// src/gpu/pipeline.rs), so a guarded dispatch binds one group, not two. Host
// side: src/gpu/program/builder.rs.
struct GuardSlots {
    word: vec4<u32>,
    mask: vec4<u32>,
}

@group(0) @binding(14) var<storage, read_write> guard_flags: array<atomic<u32>>;
@group(0) @binding(15) var<uniform> guard_slots: GuardSlots;

fn guard_flag(m: u32) {
    atomicOr(&guard_flags[guard_slots.word[m & 3u]], guard_slots.mask[m & 3u]);
}
