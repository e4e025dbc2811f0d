//! Control flow: WHILE and IF run nested subgraphs.

use super::OpCtx;
use crate::error::{Error, Result};
use crate::graph::{Data, Tensor};

/// The truth value of a condition tensor (one element; non-zero is true).
fn truth(ctx: &OpCtx, t: &Tensor) -> Result<bool> {
    if t.len() != 1 {
        return Err(ctx.err(format!(
            "condition has {} elements, expected exactly one",
            t.len()
        )));
    }
    Ok(match &t.data {
        Data::Bool(v) => v[0],
        d => d.to_f64().first().is_some_and(|&x| x != 0.0),
    })
}

/// WHILE: run `body` on the loop values while `cond` says true.
pub fn while_loop(ctx: &mut OpCtx, cond: usize, body: usize) -> Result<Vec<Tensor>> {
    let mut values: Vec<Tensor> = (0..ctx.num_inputs())
        .map(|i| ctx.input(i).cloned())
        .collect::<Result<_>>()?;
    let limit = ctx.max_while_iterations();
    let mut iterations = 0u64;
    loop {
        if ctx.cancelled() {
            return Err(Error::Stopped("cancelled".into()));
        }
        let c = ctx.run_subgraph(cond, values.clone())?;
        let c = c
            .first()
            .ok_or_else(|| ctx.err("condition subgraph has no output"))?;
        if !truth(ctx, c)? {
            break;
        }
        if iterations >= limit {
            return Err(Error::Stopped(format!(
                "node {} (WHILE) ran past the limit of {limit} iterations",
                ctx.node
            )));
        }
        iterations += 1;
        let next = ctx.run_subgraph(body, values)?;
        if next.len() != ctx.num_inputs() {
            return Err(ctx.err(format!(
                "body subgraph returned {} values for {} loop variables",
                next.len(),
                ctx.num_inputs()
            )));
        }
        values = next;
    }
    if values.len() != ctx.num_outputs() {
        return Err(ctx.err(format!(
            "{} loop variables for {} outputs",
            values.len(),
            ctx.num_outputs()
        )));
    }
    Ok(values)
}

/// IF: run one branch on inputs 1.. depending on the condition in input 0.
pub fn if_then_else(
    ctx: &mut OpCtx,
    then_branch: usize,
    else_branch: usize,
) -> Result<Vec<Tensor>> {
    let c = truth(ctx, ctx.input(0)?)?;
    let args: Vec<Tensor> = (1..ctx.num_inputs())
        .map(|i| ctx.input(i).cloned())
        .collect::<Result<_>>()?;
    let out = ctx.run_subgraph(if c { then_branch } else { else_branch }, args)?;
    if out.len() != ctx.num_outputs() {
        return Err(ctx.err(format!(
            "branch returned {} values for {} outputs",
            out.len(),
            ctx.num_outputs()
        )));
    }
    Ok(out)
}
