//! The memory planner: assigns every virtual buffer of a program to a physical
//! buffer. A pure function of the buffers' sizes and kinds and of the buffers each
//! dispatch binds, so it is tested without a device.

use super::BufId;

/// The role of a virtual buffer, which decides whether its storage can be reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BufKind {
    /// Written by the host before each invoke.
    Input,
    /// Produced inside and read back after each invoke.
    Output,
    /// Produced and consumed inside; pooled by liveness.
    Intermediate,
    /// Uploaded once at prepare.
    Constant,
}

/// What the planner knows of one virtual buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BufDesc {
    /// Size in bytes.
    pub bytes: u64,
    /// Its role.
    pub kind: BufKind,
    /// The root buffer this one shares storage with (a free reshape, or a slice
    /// of a concatenation's output); its own kind is then not used.
    pub alias_of: Option<BufId>,
    /// Where this buffer starts inside the one it aliases, in bytes (0 unless a
    /// slice).
    pub offset: u64,
}

/// How constants are packed: many small buffers become a few arenas, so that a
/// submission tracks (and a driver allocates) a handful of buffers rather than
/// one per weight and bias.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Arenas {
    /// Where a constant may start inside an arena (the adapter's storage-buffer
    /// offset alignment, at least 4).
    pub align: u64,
    /// The largest arena in bytes; a constant larger than this keeps a buffer
    /// of its own.
    pub max_bytes: u64,
}

/// The result of planning: where each virtual buffer lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MemoryPlan {
    /// The physical buffer of each virtual buffer (aliases share their root's).
    pub assign: Vec<usize>,
    /// Where each virtual buffer's root starts inside its physical buffer: the
    /// constant's offset in its arena, or None for a buffer that starts its
    /// physical buffer (it is then bound to the buffer's end).
    pub packed: Vec<Option<u64>>,
    /// The size in bytes of each physical buffer.
    pub sizes: Vec<u64>,
    /// The liveness lower bound: the most bytes of buffers live at one dispatch.
    pub liveness_bytes: u64,
}

/// The root of `b`: the buffer at the end of its alias chain.
pub(crate) fn root(bufs: &[BufDesc], mut b: BufId) -> BufId {
    while let Some(a) = bufs[b].alias_of {
        b = a;
    }
    b
}

/// Where `b` starts inside its root's storage, in bytes.
pub(crate) fn root_offset(bufs: &[BufDesc], mut b: BufId) -> u64 {
    let mut offset = 0;
    while let Some(a) = bufs[b].alias_of {
        offset += bufs[b].offset;
        b = a;
    }
    offset
}

/// First and last dispatch that binds each buffer (through any alias), as
/// `(usize::MAX, 0)` for a buffer no dispatch binds.
pub(crate) fn uses(bufs: &[BufDesc], dispatches: &[&[BufId]]) -> Vec<(usize, usize)> {
    let mut uses = vec![(usize::MAX, 0); bufs.len()];
    for (index, bindings) in dispatches.iter().enumerate() {
        for &b in bindings.iter() {
            let u = &mut uses[root(bufs, b)];
            u.0 = u.0.min(index);
            u.1 = u.1.max(index);
        }
    }
    uses
}

/// Plan the buffers of a program whose dispatches bind `dispatches` (storage
/// bindings in order, the written one last).
///
/// Constants are packed, in order, into arenas (`arenas`: each starts at an
/// aligned offset, an arena holds at most `max_bytes`); inputs and outputs
/// each get a physical buffer of their own. Intermediates are placed greedily, largest first, into the smallest physical
/// buffer that is big enough and holds only intermediates whose lifetimes (first
/// to last binding dispatch, inclusive) do not overlap theirs; otherwise into a new
/// one. Lifetimes that merely touch at one dispatch count as overlapping, so a
/// dispatch never binds one physical buffer both as an input and as its output.
pub(crate) fn plan(bufs: &[BufDesc], dispatches: &[&[BufId]], arenas: Arenas) -> MemoryPlan {
    let n = dispatches.len();
    let uses = uses(bufs, dispatches);
    let mut physical: Vec<(u64, Vec<(usize, usize)>)> = Vec::new();
    let mut assign: Vec<usize> = vec![usize::MAX; bufs.len()];
    let mut packed: Vec<Option<u64>> = vec![None; bufs.len()];
    let align = arenas.align.max(4);
    let mut arena: Option<usize> = None;
    for b in (0..bufs.len()).filter(|&b| bufs[b].alias_of.is_none()) {
        let v = &bufs[b];
        if v.kind != BufKind::Constant || v.bytes > arenas.max_bytes {
            continue;
        }
        let at = arena
            .map(|p| (p, physical[p].0.div_ceil(align) * align))
            .filter(|&(_, start)| start + v.bytes <= arenas.max_bytes);
        let (p, start) = at.unwrap_or_else(|| {
            physical.push((0, vec![(0, n + 1)]));
            (physical.len() - 1, 0)
        });
        physical[p].0 = start + v.bytes;
        arena = Some(p);
        assign[b] = p;
        packed[b] = Some(start);
    }
    let mut order: Vec<usize> = (0..bufs.len())
        .filter(|&b| bufs[b].alias_of.is_none() && packed[b].is_none())
        .collect();
    order.sort_by_key(|&b| std::cmp::Reverse(bufs[b].bytes));
    for b in order {
        let v = &bufs[b];
        let (start, end) = match v.kind {
            BufKind::Intermediate => (uses[b].0.min(n), uses[b].1),
            _ => (0, n + 1),
        };
        let slot = if v.kind == BufKind::Intermediate {
            physical
                .iter()
                .enumerate()
                .filter(|(_, (size, lives))| {
                    *size >= v.bytes
                        && !lives.is_empty()
                        && lives.iter().all(|&(s, e)| e < start || s > end)
                        && lives[0].1 <= n
                })
                .min_by_key(|(_, (size, _))| *size)
                .map(|(i, _)| i)
        } else {
            None
        };
        let p = match slot {
            Some(p) => p,
            None => {
                physical.push((v.bytes, Vec::new()));
                physical.len() - 1
            }
        };
        physical[p].1.push((start, end));
        assign[b] = p;
    }
    for b in 0..bufs.len() {
        if bufs[b].alias_of.is_some() {
            assign[b] = assign[root(bufs, b)];
            packed[b] = packed[root(bufs, b)];
        }
    }
    MemoryPlan {
        assign,
        packed,
        sizes: physical.into_iter().map(|(size, _)| size).collect(),
        liveness_bytes: liveness_bound(bufs, &uses, n),
    }
}

/// The most bytes of buffers live at any one of the `n` dispatches: every
/// constant, input and output, and the intermediates that dispatch lies within
/// the first and last use of. No allocator can do with less.
fn liveness_bound(bufs: &[BufDesc], uses: &[(usize, usize)], n: usize) -> u64 {
    let roots = || (0..bufs.len()).filter(|&b| bufs[b].alias_of.is_none());
    let fixed: u64 = roots()
        .filter(|&b| bufs[b].kind != BufKind::Intermediate)
        .map(|b| bufs[b].bytes)
        .sum();
    let mut live = vec![0u64; n.max(1)];
    for b in roots().filter(|&b| bufs[b].kind == BufKind::Intermediate) {
        let (first, last) = uses[b];
        for l in live
            .iter_mut()
            .take(last.saturating_add(1).min(n))
            .skip(first)
        {
            *l += bufs[b].bytes;
        }
    }
    fixed + live.into_iter().max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Small arenas, so that tests fill several.
    const ARENAS: Arenas = Arenas {
        align: 64,
        max_bytes: 512,
    };

    /// A program description under construction.
    #[derive(Default)]
    struct Prog {
        bufs: Vec<BufDesc>,
        dispatches: Vec<Vec<BufId>>,
    }

    impl Prog {
        fn buf(&mut self, bytes: u64, kind: BufKind) -> BufId {
            self.bufs.push(BufDesc {
                bytes,
                kind,
                alias_of: None,
                offset: 0,
            });
            self.bufs.len() - 1
        }

        fn alias(&mut self, of: BufId) -> BufId {
            let r = root(&self.bufs, of);
            self.bufs.push(BufDesc {
                alias_of: Some(r),
                ..self.bufs[r]
            });
            self.bufs.len() - 1
        }

        /// A dispatch reading `reads` and writing `write`.
        fn dispatch(&mut self, reads: &[BufId], write: BufId) {
            let mut b = reads.to_vec();
            b.push(write);
            self.dispatches.push(b);
        }

        fn plan(&self) -> MemoryPlan {
            let d: Vec<&[BufId]> = self.dispatches.iter().map(|d| &d[..]).collect();
            plan(&self.bufs, &d, ARENAS)
        }
    }

    /// Two intermediates made slices of a concatenation's output: they live in
    /// its storage at their offsets (through a reshape alias too), and the output's
    /// lifetime covers their producers, so nothing else is placed over them.
    #[test]
    fn slices_live_in_their_whole() {
        let mut p = Prog::default();
        let x = p.buf(1024, BufKind::Input);
        let a = p.buf(512, BufKind::Intermediate);
        let ra = p.alias(a);
        let b = p.buf(512, BufKind::Intermediate);
        let whole = p.buf(1024, BufKind::Intermediate);
        let y = p.buf(1024, BufKind::Output);
        let t = p.buf(1024, BufKind::Intermediate);
        p.dispatch(&[x], a);
        p.dispatch(&[x], t);
        p.dispatch(&[t], b);
        p.dispatch(&[whole], y);
        for (part, offset) in [(a, 0), (b, 512)] {
            p.bufs[part].alias_of = Some(whole);
            p.bufs[part].offset = offset;
        }
        let m = p.plan();
        check(&p, &m);
        assert_eq!(m.assign[a], m.assign[whole]);
        assert_eq!(m.assign[b], m.assign[whole]);
        assert_ne!(m.assign[t], m.assign[whole]);
        assert_eq!(root_offset(&p.bufs, ra), 0);
        assert_eq!(root_offset(&p.bufs, b), 512);
        assert_eq!(root_offset(&p.bufs, whole), 0);
    }

    /// Check every invariant of a plan.
    fn check(p: &Prog, m: &MemoryPlan) {
        let d: Vec<&[BufId]> = p.dispatches.iter().map(|d| &d[..]).collect();
        let uses = uses(&p.bufs, &d);
        let roots: Vec<BufId> = (0..p.bufs.len())
            .filter(|&b| p.bufs[b].alias_of.is_none())
            .collect();
        for b in 0..p.bufs.len() {
            let r = root(&p.bufs, b);
            assert_eq!(m.assign[b], m.assign[r], "alias {b} apart from its root");
            assert!(
                m.sizes[m.assign[b]] >= p.bufs[r].bytes,
                "buffer {b} too small"
            );
        }
        for &r in &roots {
            let v = &p.bufs[r];
            match m.packed[r] {
                Some(at) => {
                    assert_eq!(v.kind, BufKind::Constant, "{r} packed");
                    assert_eq!(at % ARENAS.align, 0, "constant {r} at {at}");
                    assert!(at + v.bytes <= m.sizes[m.assign[r]].min(ARENAS.max_bytes));
                }
                None => assert!(
                    v.kind != BufKind::Constant || v.bytes > ARENAS.max_bytes,
                    "constant {r} of {} bytes not packed",
                    v.bytes
                ),
            }
        }
        for (i, &a) in roots.iter().enumerate() {
            for &b in &roots[i + 1..] {
                if m.assign[a] != m.assign[b] {
                    continue;
                }
                if let (Some(sa), Some(sb)) = (m.packed[a], m.packed[b]) {
                    let (ea, eb) = (sa + p.bufs[a].bytes, sb + p.bufs[b].bytes);
                    assert!(
                        ea <= sb || eb <= sa,
                        "constants {a} ({sa}..{ea}) and {b} ({sb}..{eb}) overlap"
                    );
                    continue;
                }
                let (ka, kb) = (p.bufs[a].kind, p.bufs[b].kind);
                assert!(
                    ka == BufKind::Intermediate && kb == BufKind::Intermediate,
                    "{ka:?} {a} shares storage with {kb:?} {b}"
                );
                let ((sa, ea), (sb, eb)) = (uses[a], uses[b]);
                assert!(
                    ea < sb || eb < sa,
                    "{a} live {sa}..={ea} shares storage with {b} live {sb}..={eb}"
                );
            }
        }
        for (i, bindings) in p.dispatches.iter().enumerate() {
            let (&write, reads) = bindings.split_last().unwrap();
            for &r in reads {
                if root(&p.bufs, r) != root(&p.bufs, write) {
                    assert_ne!(
                        m.assign[r], m.assign[write],
                        "dispatch {i} binds one buffer read-only ({r}) and read-write ({write})"
                    );
                }
            }
        }
        assert!(m.liveness_bytes <= m.sizes.iter().sum::<u64>());
    }

    #[test]
    fn a_chain_reuses_storage_once_dead() {
        let mut p = Prog::default();
        let x = p.buf(64, BufKind::Input);
        let a = p.buf(100, BufKind::Intermediate);
        let b = p.buf(100, BufKind::Intermediate);
        let c = p.buf(100, BufKind::Intermediate);
        let y = p.buf(100, BufKind::Output);
        p.dispatch(&[x], a);
        p.dispatch(&[a], b);
        p.dispatch(&[b], c);
        p.dispatch(&[c], y);
        let m = p.plan();
        check(&p, &m);
        // a (0..=1) and c (2..=3) share; b overlaps both.
        assert_eq!(m.assign[a], m.assign[c]);
        assert_ne!(m.assign[a], m.assign[b]);
        assert_eq!(m.sizes.len(), 4);
        assert_eq!(m.sizes.iter().sum::<u64>(), 64 + 100 + 100 + 100);
        // At dispatch 1 and 2 two intermediates are live, besides x and y.
        assert_eq!(m.liveness_bytes, 64 + 100 + 200);
    }

    #[test]
    fn touching_lifetimes_do_not_share() {
        let mut p = Prog::default();
        let x = p.buf(16, BufKind::Input);
        let a = p.buf(32, BufKind::Intermediate);
        let b = p.buf(32, BufKind::Intermediate);
        let y = p.buf(32, BufKind::Output);
        p.dispatch(&[x], a);
        // a is last read where b is written: never one physical buffer.
        p.dispatch(&[a], b);
        p.dispatch(&[b], y);
        let m = p.plan();
        check(&p, &m);
        assert_ne!(m.assign[a], m.assign[b]);
    }

    #[test]
    fn reuse_is_greedy_by_size_into_the_smallest_fit() {
        let mut p = Prog::default();
        let x = p.buf(8, BufKind::Input);
        let big = p.buf(400, BufKind::Intermediate);
        let mid = p.buf(200, BufKind::Intermediate);
        let y0 = p.buf(8, BufKind::Intermediate);
        let small = p.buf(150, BufKind::Intermediate);
        let huge = p.buf(500, BufKind::Intermediate);
        let y = p.buf(8, BufKind::Output);
        p.dispatch(&[x], big);
        p.dispatch(&[x], mid);
        p.dispatch(&[big, mid], y0);
        p.dispatch(&[y0], small);
        p.dispatch(&[small], huge);
        p.dispatch(&[huge], y);
        let m = p.plan();
        check(&p, &m);
        // Largest first: huge gets a buffer of 500 bytes, which big (dead before
        // huge is born) reuses; mid is live with big and gets its own; small is
        // live with huge, so of the two buffers that fit it only mid's is free.
        assert_eq!(m.assign[big], m.assign[huge]);
        assert_ne!(m.assign[big], m.assign[mid]);
        assert_eq!(m.assign[small], m.assign[mid]);
        assert_eq!(m.sizes, vec![500, 200, 8, 8, 8]);
    }

    #[test]
    fn reuse_takes_the_smallest_free_buffer_that_fits() {
        let mut p = Prog::default();
        let x = p.buf(8, BufKind::Input);
        let big = p.buf(400, BufKind::Intermediate);
        let mid = p.buf(200, BufKind::Intermediate);
        let t = p.buf(8, BufKind::Intermediate);
        let small = p.buf(150, BufKind::Intermediate);
        let y = p.buf(8, BufKind::Output);
        p.dispatch(&[x], big);
        p.dispatch(&[big], mid);
        p.dispatch(&[mid], t);
        p.dispatch(&[t], small);
        p.dispatch(&[small], y);
        let m = p.plan();
        check(&p, &m);
        // Both big's and mid's buffers are free when small is live.
        assert_ne!(m.assign[big], m.assign[mid]);
        assert_eq!(m.assign[small], m.assign[mid]);
        assert_eq!(m.assign[t], m.assign[big]);
    }

    #[test]
    fn a_larger_buffer_does_not_reuse_a_smaller_one() {
        let mut p = Prog::default();
        let x = p.buf(8, BufKind::Input);
        let a = p.buf(100, BufKind::Intermediate);
        let b = p.buf(8, BufKind::Intermediate);
        let c = p.buf(101, BufKind::Intermediate);
        let y = p.buf(8, BufKind::Output);
        p.dispatch(&[x], a);
        p.dispatch(&[a], b);
        p.dispatch(&[b], c);
        p.dispatch(&[c], y);
        let m = p.plan();
        check(&p, &m);
        // c is placed first (largest); a, dead when c is born, reuses c's storage.
        assert_eq!(m.assign[a], m.assign[c]);
        assert_eq!(m.sizes[m.assign[c]], 101);
    }

    #[test]
    fn inputs_outputs_and_constants_are_never_reused() {
        let mut p = Prog::default();
        let x = p.buf(256, BufKind::Input);
        let w = p.buf(256, BufKind::Constant);
        let y0 = p.buf(256, BufKind::Output);
        let a = p.buf(64, BufKind::Intermediate);
        let b = p.buf(64, BufKind::Intermediate);
        let y1 = p.buf(64, BufKind::Output);
        p.dispatch(&[x, w], y0);
        p.dispatch(&[y0], a);
        p.dispatch(&[a], b);
        p.dispatch(&[b], y1);
        let m = p.plan();
        check(&p, &m);
        let fixed = [x, w, y0, y1];
        for (i, &f) in fixed.iter().enumerate() {
            for &o in fixed[i + 1..].iter().chain(&[a, b]) {
                assert_ne!(m.assign[f], m.assign[o], "{f} and {o} share storage");
            }
        }
    }

    #[test]
    fn constants_pack_into_aligned_arenas() {
        let mut p = Prog::default();
        let x = p.buf(16, BufKind::Input);
        let w: Vec<BufId> = [100, 4, 200, 36, 600, 120]
            .iter()
            .map(|&b| p.buf(b, BufKind::Constant))
            .collect();
        let rw = p.alias(w[1]);
        let y = p.buf(16, BufKind::Output);
        p.dispatch(&[x, w[0], w[1], w[2]], y);
        p.dispatch(&[rw, w[3], w[4], w[5]], y);
        let m = p.plan();
        check(&p, &m);
        // 100 at 0, 4 at 128, 200 at 192, 36 at 448 (ends at 484 <= 512); 120
        // does not fit after it (512 + 120 > 512), so a second arena. 600,
        // larger than an arena, keeps a buffer of its own.
        let at: Vec<Option<u64>> = w.iter().map(|&b| m.packed[b]).collect();
        assert_eq!(
            at,
            [Some(0), Some(128), Some(192), Some(448), None, Some(0)]
        );
        assert_eq!(m.assign[w[0]], m.assign[w[3]]);
        assert_ne!(m.assign[w[3]], m.assign[w[5]]);
        assert_eq!(m.sizes[m.assign[w[0]]], 484);
        assert_eq!(m.sizes[m.assign[w[5]]], 120);
        assert_eq!(m.sizes[m.assign[w[4]]], 600);
        assert_eq!((m.assign[rw], m.packed[rw]), (m.assign[w[1]], Some(128)));
        assert_eq!(m.sizes.len(), 5, "two arenas, the large constant, x and y");
    }

    #[test]
    fn an_alias_extends_its_roots_lifetime() {
        let mut p = Prog::default();
        let x = p.buf(8, BufKind::Input);
        let a = p.buf(100, BufKind::Intermediate);
        let b = p.buf(100, BufKind::Intermediate);
        let y = p.buf(100, BufKind::Output);
        p.dispatch(&[x], a);
        let r = p.alias(a);
        p.dispatch(&[x], b);
        p.dispatch(&[r, b], y);
        let m = p.plan();
        check(&p, &m);
        assert_eq!(m.assign[r], m.assign[a]);
        assert_ne!(m.assign[a], m.assign[b]);
    }

    #[test]
    fn an_unused_intermediate_gets_storage() {
        let mut p = Prog::default();
        let x = p.buf(8, BufKind::Input);
        let unused = p.buf(40, BufKind::Intermediate);
        let y = p.buf(8, BufKind::Output);
        p.dispatch(&[x], y);
        let m = p.plan();
        check(&p, &m);
        assert_eq!(m.sizes[m.assign[unused]], 40);
        assert_eq!(m.liveness_bytes, 16);
    }

    #[test]
    fn random_programs_keep_every_invariant() {
        let mut rng = crate::graph::rng::SeededRng::new(0x9E37_79B9_7F4A_7C15);
        let mut next = |n: usize| rng.below(n);
        for _ in 0..300 {
            let mut p = Prog::default();
            let mut readable = Vec::new();
            for _ in 0..1 + next(3) {
                let kind = if next(2) == 0 {
                    BufKind::Input
                } else {
                    BufKind::Constant
                };
                let b = p.buf(4 * (1 + next(64)) as u64, kind);
                readable.push(b);
            }
            let steps = 1 + next(24);
            for i in 0..steps {
                let mut reads = Vec::new();
                for _ in 0..1 + next(3) {
                    reads.push(readable[next(readable.len())]);
                }
                let kind = if i + 1 == steps || next(8) == 0 {
                    BufKind::Output
                } else {
                    BufKind::Intermediate
                };
                let out = p.buf(4 * (1 + next(64)) as u64, kind);
                p.dispatch(&reads, out);
                readable.push(out);
                if next(4) == 0 {
                    let a = p.alias(out);
                    readable.push(a);
                }
                // Older values mostly go dead.
                if readable.len() > 6 {
                    readable.remove(next(readable.len() - 1));
                }
            }
            let m = p.plan();
            check(&p, &m);
        }
    }
}
