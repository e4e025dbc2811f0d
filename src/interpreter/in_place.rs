//! Invokes whose inputs are read in place: the C ABI hands the runtime's tensor
//! memory through, and an input only GPU partitions read is converted from it
//! straight into its staging buffer, so it crosses the host once.

use super::Interpreter;
use crate::error::{Error, Result};
use crate::graph::{Data, Tensor};
use std::borrow::Cow;

impl Interpreter {
    /// Whether input `i` can be read in place by
    /// [`Interpreter::invoke_in_place`]: only compiled GPU partitions read it
    /// (no CPU node, and it is no model output), and it is not int64.
    pub(crate) fn reads_in_place(&self, i: usize) -> bool {
        self.program.direct_input(i)
    }

    /// Host copies of input elements made so far into GPU staging buffers and,
    /// when an input given in place could not be read there, into a tensor
    /// first; by every program this interpreter has run.
    pub(crate) fn input_copies(&self) -> u64 {
        self.input_copies + self.program.input_copies()
    }

    /// Run the model with the inputs `direct` names as (input index, its
    /// elements as native-order bytes, bool as 0/1 bytes, at the input's
    /// prepared shape) read in place: each is converted from these bytes
    /// straight into its GPU staging buffer. The other inputs are those set so
    /// far; the values held for the inputs read in place are left as they were.
    /// An input [`Interpreter::reads_in_place`] refuses (after the overflow
    /// guard moved its reader, say) is copied into a tensor first.
    pub(crate) fn invoke_in_place(&mut self, direct: &[(usize, &[u8])]) -> Result<()> {
        for &(i, bytes) in direct {
            let info = self.input_info(i)?;
            let need = info.shape.iter().product::<usize>() * info.dtype.size().unwrap_or(0);
            if bytes.len() != need {
                return Err(Error::Input {
                    index: i,
                    what: format!(
                        "{} bytes given, {} of shape {:?} takes {need}",
                        bytes.len(),
                        info.dtype,
                        info.shape
                    ),
                });
            }
        }
        let saved = self.program.guarded().then(|| self.state.clone());
        loop {
            self.prepare_invoke()?;
            let sg = self.program.graph().main();
            let mut in_place = Vec::with_capacity(direct.len());
            let mut copied = 0;
            let mut values = Vec::with_capacity(self.inputs.len());
            for (i, held) in self.inputs.iter().enumerate() {
                let given = direct.iter().find(|(d, _)| *d == i).map(|&(_, b)| b);
                let value = match given {
                    Some(bytes) => {
                        let info = &sg.tensors[sg.inputs[i]];
                        if self.program.direct_input(i) {
                            in_place.push((i, bytes));
                            // Shape and dtype only: the GPU reads `bytes`.
                            Tensor::new(info.shape.clone(), Data::zeros(info.dtype, 0)?)
                        } else {
                            copied += 1;
                            Tensor::new(info.shape.clone(), Data::from_bytes(info.dtype, bytes)?)
                        }
                    }
                    None => match held {
                        Some(t) => {
                            values.push(Cow::Borrowed(t));
                            continue;
                        }
                        None => {
                            return Err(Error::Input {
                                index: i,
                                what: "not set".into(),
                            })
                        }
                    },
                };
                values.push(Cow::Owned(value));
            }
            self.input_copies += copied;
            let result = self.program.run_direct(values, &in_place, &mut self.state);
            let outputs = self.check_device(result)?;
            if !self.guard_overflow(saved.as_ref())? {
                self.set_outputs(outputs);
                return Ok(());
            }
        }
    }
}
