//! `run`: one invoke on .npy inputs, outputs written as .npy.

use super::{load, options, ExecArgs};
use crate::cli::outln;
use crate::{npy, Interpreter};
use std::path::PathBuf;

/// Run `model` once.
pub fn run(
    model: &Option<PathBuf>,
    inputs: &[PathBuf],
    out_dir: &PathBuf,
    exec: &ExecArgs,
) -> crate::Result<()> {
    let (m, name) = load(model)?;
    let options = options(exec)?;
    super::check_plan(&options, &m, &name)?;
    let mut interp = Interpreter::with_options(&m, options)?;
    if inputs.is_empty() && model.is_none() {
        interp.set_input(0, crate::demo::demo_input())?;
    } else {
        if inputs.len() != interp.num_inputs() {
            return Err(crate::Error::Input {
                index: inputs.len(),
                what: format!(
                    "{} --input files given, the model has {} inputs",
                    inputs.len(),
                    interp.num_inputs()
                ),
            });
        }
        for (i, p) in inputs.iter().enumerate() {
            interp.set_input(i, npy::read(p)?)?;
        }
    }
    interp.invoke()?;
    std::fs::create_dir_all(out_dir).map_err(|source| crate::Error::Io {
        path: out_dir.display().to_string(),
        source,
    })?;
    for i in 0..interp.num_outputs() {
        let t = interp.output(i)?;
        let path = out_dir.join(format!("output_{i}.npy"));
        npy::write(&path, t)?;
        outln!("{}: {} {:?}", path.display(), t.dtype(), t.shape);
    }
    Ok(())
}
