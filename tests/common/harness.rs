//! The test harness of the integration-test binaries (`harness = false`): each
//! group's `main.rs` hands it the cases its modules register, and it runs them
//! with libtest's command line and output.
//!
//! A case declares what it needs: a GPU adapter, the shared test set, or both.
//! Outside CI a case whose prerequisite is missing is reported as ignored (not as
//! passed), and the run ends with a count of the skipped cases and why. Under
//! `CI=true` nothing is skipped: the case runs and its missing prerequisite fails
//! it. A case that still returns early through [`super::missing`] (a prerequisite
//! found only while it runs, such as an adapter without SHADER_F16) is counted and
//! listed at the end as well.

use std::io::Write;
use std::sync::Mutex;

/// What a case needs to run.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Needs {
    /// Nothing outside the crate.
    Nothing,
    /// A GPU adapter (lavapipe counts).
    Gpu,
    /// The shared test set (`../shared` or `$TFLITE_WGPU_SHARED`).
    Shared,
    /// Both.
    GpuShared,
}

/// One registered test.
pub struct Case {
    /// The function's name; the harness prefixes the module's.
    pub name: &'static str,
    /// What it needs.
    pub needs: Needs,
    /// `Some(reason)`: run only with `--ignored` (a measurement, not a check).
    pub ignored: Option<&'static str>,
    /// The test; a panic fails it.
    pub run: fn(),
}

/// Registers test function `$f` with what it needs: `case!(gpu, f)`,
/// `case!(shared, f)`, `case!(gpu_shared, f)`, `case!(plain, f)`, or
/// `case!(ignored, f, "reason")`.
#[macro_export]
macro_rules! case {
    (plain, $f:ident) => {
        $crate::harness::Case::new(stringify!($f), $crate::harness::Needs::Nothing, $f)
    };
    (gpu, $f:ident) => {
        $crate::harness::Case::new(stringify!($f), $crate::harness::Needs::Gpu, $f)
    };
    (shared, $f:ident) => {
        $crate::harness::Case::new(stringify!($f), $crate::harness::Needs::Shared, $f)
    };
    (gpu_shared, $f:ident) => {
        $crate::harness::Case::new(stringify!($f), $crate::harness::Needs::GpuShared, $f)
    };
    (ignored, $f:ident, $why:expr) => {
        $crate::harness::Case {
            ignored: Some($why),
            ..$crate::harness::Case::new(stringify!($f), $crate::harness::Needs::Nothing, $f)
        }
    };
}

impl Case {
    /// A case that runs by default.
    pub fn new(name: &'static str, needs: Needs, run: fn()) -> Case {
        Case {
            name,
            needs,
            ignored: None,
            run,
        }
    }
}

/// A module's registration: the function listing its cases.
pub type Registry = fn() -> Vec<Case>;

/// Cases that returned early through [`super::missing`]: (case, what was missing).
static RETURNED_EARLY: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

thread_local! {
    /// The case running on this thread, for [`note_skip`].
    static CURRENT: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// Records that the running case returned early because `what` is missing.
pub fn note_skip(what: &str) -> String {
    let name = CURRENT.with(|c| c.borrow().clone());
    let name = if name.is_empty() {
        std::thread::current().name().unwrap_or("test").to_string()
    } else {
        name
    };
    if let Ok(mut v) = RETURNED_EARLY.lock() {
        v.push((name.clone(), what.to_string()));
    }
    name
}

/// [`main`] with the shaders' runtime bounds checks on for every interpreter the
/// cases create (`TFLITE_WGPU_SHADER_CHECKS=1`, which `Tuning::default` reads),
/// unless the environment already says otherwise: every test binary but the one
/// for the trusted (unchecked) modules runs this way.
pub fn main_checked(modules: &[(&str, Registry)]) -> ! {
    if std::env::var_os("TFLITE_WGPU_SHADER_CHECKS").is_none() {
        // Before any case runs: no other thread reads the environment yet.
        std::env::set_var("TFLITE_WGPU_SHADER_CHECKS", "1");
    }
    main(modules)
}

/// Runs the cases of every module (`(module name, its cases)`) with libtest's
/// arguments and exits with its status.
pub fn main(modules: &[(&str, Registry)]) -> ! {
    let args = libtest_mimic::Arguments::from_args();
    let ci = super::in_ci();
    let gpu = ci || tflite_wgpu::gpu_adapter(Default::default()).is_ok();
    let shared = ci || super::shared_path().join("goldens").is_dir();
    let mut skipped: Vec<(String, &str)> = Vec::new();
    let mut trials = Vec::new();
    for (module, cases) in modules {
        for case in cases() {
            let name = format!("{module}::{}", case.name);
            let missing = match case.needs {
                Needs::Nothing => None,
                Needs::Gpu if !gpu => Some("no GPU adapter"),
                Needs::Shared if !shared => Some("no shared test set"),
                Needs::GpuShared if !gpu => Some("no GPU adapter"),
                Needs::GpuShared if !shared => Some("no shared test set"),
                _ => None,
            };
            let run = case.run;
            let current = name.clone();
            let mut trial = libtest_mimic::Trial::test(name.clone(), move || {
                CURRENT.with(|c| *c.borrow_mut() = current);
                run();
                Ok(())
            });
            if let Some(why) = missing {
                if !args.ignored && !args.include_ignored {
                    skipped.push((name, why));
                }
                trial = trial.with_ignored_flag(true);
            } else if case.ignored.is_some() {
                trial = trial.with_ignored_flag(true);
            }
            trials.push(trial);
        }
    }
    let conclusion = libtest_mimic::run(&args, trials);
    let early = RETURNED_EARLY.lock().map(|v| v.clone()).unwrap_or_default();
    if !skipped.is_empty() || !early.is_empty() {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "skipped: {} cases for a missing prerequisite, {} returned early",
            skipped.len(),
            early.len()
        );
        let mut reasons: Vec<&str> = skipped.iter().map(|(_, why)| *why).collect();
        reasons.sort_unstable();
        reasons.dedup();
        for why in reasons {
            let n = skipped.iter().filter(|(_, w)| *w == why).count();
            let _ = writeln!(err, "  {n} skipped: {why}");
        }
        for (name, what) in &early {
            let _ = writeln!(err, "  returned early: {name}: {what}");
        }
    }
    conclusion.exit()
}
