//! The fp16 overflow guard covers every store: each registered kernel, assembled
//! at f16 with the guard on, is parsed and validated with naga, and every write
//! of an f16 value (scalar or vector) to a storage buffer must be the result of
//! the guarded store (`to_scalar` / `to_scalar4` of the prologue, directly or
//! through helpers whose every return is one), and no f32 value is narrowed to
//! f16 anywhere but inside the guarded store.

use super::ops::all_shaders;
use super::pipeline::{guarded_source, Precision, GUARDED_STORES, GUARD_BINDING};
use naga::{AddressSpace, Block, Expression, Function, Handle, Module, Scalar, Statement};
use naga::{ScalarKind, TypeInner};

/// Whether `ty` is f16 or a vector of f16.
fn is_f16(ty: &TypeInner) -> bool {
    let f16 = Scalar {
        kind: ScalarKind::Float,
        width: 2,
    };
    match ty {
        TypeInner::Scalar(s) => *s == f16,
        TypeInner::Vector { scalar, .. } => *scalar == f16,
        _ => false,
    }
}

/// The global variable a pointer expression points into, through its access chain.
fn pointer_root(f: &Function, mut e: Handle<Expression>) -> Option<Handle<naga::GlobalVariable>> {
    loop {
        match f.expressions[e] {
            Expression::Access { base, .. } | Expression::AccessIndex { base, .. } => e = base,
            Expression::GlobalVariable(g) => return Some(g),
            _ => return None,
        }
    }
}

/// Every statement of `block`, nested blocks included.
fn statements<'a>(block: &'a Block, out: &mut Vec<&'a Statement>) {
    for s in block.iter() {
        out.push(s);
        match s {
            Statement::Block(b) => statements(b, out),
            Statement::If { accept, reject, .. } => {
                statements(accept, out);
                statements(reject, out);
            }
            Statement::Switch { cases, .. } => {
                for c in cases {
                    statements(&c.body, out);
                }
            }
            Statement::Loop {
                body, continuing, ..
            } => {
                statements(body, out);
                statements(continuing, out);
            }
            _ => {}
        }
    }
}

/// The functions whose result is always a guarded store's: the prologue's own,
/// and (to a fixed point) functions returning f16 whose every `return` is a call
/// of one of them.
fn guarded_functions(module: &Module) -> Vec<Handle<Function>> {
    let mut guarded: Vec<Handle<Function>> = module
        .functions
        .iter()
        .filter(|(_, f)| GUARDED_STORES.contains(&f.name.as_deref().unwrap_or("")))
        .map(|(h, _)| h)
        .collect();
    loop {
        let before = guarded.len();
        for (h, f) in module.functions.iter() {
            if guarded.contains(&h) {
                continue;
            }
            let Some(result) = &f.result else { continue };
            if !is_f16(&module.types[result.ty].inner) {
                continue;
            }
            let mut all = Vec::new();
            statements(&f.body, &mut all);
            let returns: Vec<_> = all
                .iter()
                .filter_map(|s| match s {
                    Statement::Return { value } => Some(*value),
                    _ => None,
                })
                .collect();
            let ok = !returns.is_empty()
                && returns.iter().all(|v| {
                    v.is_some_and(|v| {
                        matches!(f.expressions[v], Expression::CallResult(c) if guarded.contains(&c))
                    })
                });
            if ok {
                guarded.push(h);
            }
        }
        if guarded.len() == before {
            return guarded;
        }
    }
}

/// Where `module` (kernel `name`) stores f16 values past the guarded store or
/// narrows f32 to f16 outside it.
fn bypasses(name: &str, module: &Module, info: &naga::valid::ModuleInfo) -> Vec<String> {
    let guarded = guarded_functions(module);
    let guard_names: Vec<Handle<Function>> = module
        .functions
        .iter()
        .filter(|(_, f)| GUARDED_STORES.contains(&f.name.as_deref().unwrap_or("")))
        .map(|(h, _)| h)
        .collect();
    let mut found = Vec::new();
    let functions = module
        .functions
        .iter()
        .map(|(h, f)| (Some(h), f, &info[h]))
        .chain(
            module
                .entry_points
                .iter()
                .enumerate()
                .map(|(i, ep)| (None, &ep.function, info.get_entry_point(i))),
        );
    for (handle, f, finfo) in functions {
        let fname = f.name.as_deref().unwrap_or("?");
        if handle.is_some_and(|h| guard_names.contains(&h)) {
            continue;
        }
        for (e, expr) in f.expressions.iter() {
            if let Expression::As {
                kind: ScalarKind::Float,
                convert: Some(2),
                expr: src,
            } = *expr
            {
                if !is_f16(finfo[src].ty.inner_with(&module.types)) {
                    found.push(format!(
                        "{name}: {fname} narrows to f16 outside the guarded store ({e:?})"
                    ));
                }
            }
        }
        let mut all = Vec::new();
        statements(&f.body, &mut all);
        for s in all {
            let Statement::Store { pointer, value } = *s else {
                continue;
            };
            let Some(g) = pointer_root(f, pointer) else {
                continue;
            };
            let var = &module.global_variables[g];
            if !matches!(var.space, AddressSpace::Storage { .. }) {
                continue;
            }
            if !is_f16(finfo[value].ty.inner_with(&module.types)) {
                continue;
            }
            let through_guard =
                matches!(f.expressions[value], Expression::CallResult(c) if guarded.contains(&c));
            if !through_guard {
                found.push(format!(
                    "{name}: {fname} stores an f16 value to `{}` without the guarded store",
                    var.name.as_deref().unwrap_or("?")
                ));
            }
        }
    }
    found
}

/// Every registered kernel at f16 with the guard on: no f16 store to storage
/// bypasses the guarded store.
#[test]
fn every_f16_store_goes_through_the_guard() {
    let mut problems = Vec::new();
    let mut kernels = 0;
    let mut stores = 0;
    for shader in all_shaders() {
        let name = shader.name;
        let source = guarded_source(shader, Precision::F16, true);
        let module = naga::front::wgsl::parse_str(&source)
            .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(&source)));
        let info = naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::all(),
        )
        .validate(&module)
        .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        kernels += 1;
        stores += source.matches("to_scalar").count();
        problems.extend(bypasses(name, &module, &info));
    }
    assert!(kernels >= 37 && stores > 0, "{kernels} kernels");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every registered kernel at f16 with the guard on declares the guard's two
/// bindings where the program builder binds them, in group 0 past every binding
/// of its own.
#[test]
fn guard_bindings_follow_every_kernels_own() {
    for shader in all_shaders() {
        let name = shader.name;
        let source = guarded_source(shader, Precision::F16, true);
        let module = naga::front::wgsl::parse_str(&source)
            .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(&source)));
        for (_, g) in module.global_variables.iter() {
            let Some(b) = &g.binding else { continue };
            assert_eq!(b.group, 0, "{name}: {:?} in group {}", g.name, b.group);
            match g.name.as_deref() {
                Some("guard_flags") => assert_eq!(b.binding, GUARD_BINDING, "{name}"),
                Some("guard_slots") => assert_eq!(b.binding, GUARD_BINDING + 1, "{name}"),
                other => assert!(
                    b.binding < GUARD_BINDING,
                    "{name}: {other:?} at {}",
                    b.binding
                ),
            }
        }
    }
}
