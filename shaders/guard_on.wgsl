// The fp16 overflow guard: a store that leaves the f16 range sets the bit of the
// node it stores for in `guard_flags` (one bit per node of the program, cleared
// before each run and read back with the outputs). `guard_slots` maps the
// dispatch's members (see prologue_f16.wgsl) to a flag word and a bit mask; a
// mask of 0 is a member the dispatch does not have. Host side:
// src/gpu/program/builder.rs.
struct GuardSlots {
    word: vec4<u32>,
    mask: vec4<u32>,
}

@group(1) @binding(0) var<storage, read_write> guard_flags: array<atomic<u32>>;
@group(1) @binding(1) var<uniform> guard_slots: GuardSlots;

fn guard_flag(m: u32) {
    atomicOr(&guard_flags[guard_slots.word[m & 3u]], guard_slots.mask[m & 3u]);
}
